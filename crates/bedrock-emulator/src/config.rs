//! Emulator settings: credentials, regions, API keys and behaviour switches, from the
//! `EMULATOR_*` environment variables documented in `docs/architecture.md`.

use std::collections::{HashMap, HashSet};

/// Default `EMULATOR_CREDENTIALS`.
pub const DEFAULT_CREDENTIALS: &str = "AKIDEMULATOR:emulator-secret";
/// Default `EMULATOR_REGIONS`.
pub const DEFAULT_REGIONS: &str = "us-east-1,us-west-2,eu-west-1";

/// One accepted AWS credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Access key id (`AKID...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// When set, requests must carry this `x-amz-security-token`.
    pub session_token: Option<String>,
}

/// Everything that changes how the emulator answers.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Accepted credentials by access key id.
    pub credentials: HashMap<String, Credential>,
    /// Accepted `Authorization: Bearer` keys (Bedrock API keys).
    pub api_keys: HashSet<String>,
    /// Regions a SigV4 scope may name; the first is used for Bearer requests.
    pub regions: Vec<String>,
    /// Model ids that answer 403 AccessDeniedException.
    pub denied_models: HashSet<String>,
    /// ListFoundationModels / ListInferenceProfiles answer 403 (gateway fallback tests).
    pub list_fails: bool,
    /// ListFoundationModels / ListInferenceProfiles return empty lists.
    pub empty_catalog: bool,
    /// Benchmark mode: no request recording.
    pub fast: bool,
    /// Size of the request-recording ring.
    pub recording_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            // The defaults are literals that parse; an empty map would lock every client out.
            credentials: parse_credentials(DEFAULT_CREDENTIALS).unwrap_or_default(),
            api_keys: HashSet::new(),
            regions: split_list(DEFAULT_REGIONS),
            denied_models: HashSet::new(),
            list_fails: false,
            empty_catalog: false,
            fast: false,
            recording_capacity: 10_000,
        }
    }
}

/// Splits a comma list, trimming blanks.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `AKID:SECRET[:SESSION_TOKEN],...`.
pub fn parse_credentials(raw: &str) -> Result<HashMap<String, Credential>, String> {
    let mut out = HashMap::new();
    for entry in split_list(raw) {
        // Session tokens are base64 and may not contain ':', but be generous and keep anything
        // after the second ':' as the token.
        let mut parts = entry.splitn(3, ':');
        let akid = parts.next().unwrap_or_default().trim();
        let secret = parts.next().unwrap_or_default().trim();
        let token = parts
            .next()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if akid.is_empty() || secret.is_empty() {
            return Err(format!(
                "EMULATOR_CREDENTIALS entry {entry:?} is not AKID:SECRET[:SESSION_TOKEN]"
            ));
        }
        out.insert(
            akid.to_string(),
            Credential {
                access_key_id: akid.to_string(),
                secret_access_key: secret.to_string(),
                session_token: token,
            },
        );
    }
    if out.is_empty() {
        return Err("EMULATOR_CREDENTIALS holds no credential".into());
    }
    Ok(out)
}

fn truthy(value: Option<String>) -> bool {
    matches!(
        value.as_deref().map(str::trim),
        Some("1" | "true" | "TRUE" | "True" | "yes" | "on")
    )
}

impl EmulatorConfig {
    /// Reads the `EMULATOR_*` variables through `get` (normally `std::env::var`), so tests can
    /// pass a map instead of mutating the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = Self::default();
        if let Some(raw) = get("EMULATOR_CREDENTIALS").filter(|s| !s.trim().is_empty()) {
            config.credentials = parse_credentials(&raw)?;
        }
        if let Some(raw) = get("EMULATOR_REGIONS").filter(|s| !s.trim().is_empty()) {
            config.regions = split_list(&raw);
        }
        if let Some(raw) = get("EMULATOR_API_KEYS") {
            config.api_keys = split_list(&raw).into_iter().collect();
        }
        if let Some(raw) = get("EMULATOR_DENIED_MODELS") {
            config.denied_models = split_list(&raw).into_iter().collect();
        }
        config.list_fails = truthy(get("EMULATOR_LIST_FAILS"));
        config.empty_catalog = truthy(get("EMULATOR_EMPTY_CATALOG"));
        config.fast = truthy(get("EMULATOR_FAST"));
        if let Some(raw) = get("EMULATOR_RECORDING_CAPACITY") {
            config.recording_capacity = raw
                .trim()
                .parse()
                .map_err(|_| format!("EMULATOR_RECORDING_CAPACITY {raw:?} is not a number"))?;
        }
        Ok(config)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The region used when a request names none (Bearer-authenticated requests).
    pub fn default_region(&self) -> &str {
        self.regions
            .first()
            .map(String::as_str)
            .unwrap_or("us-east-1")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)] // table-driven tests spell their row types out
mod tests {
    use super::*;

    #[test]
    fn credentials_table() {
        let cases: Vec<(&str, Result<Vec<(&str, &str, Option<&str>)>, ()>)> = vec![
            ("AKID:SECRET", Ok(vec![("AKID", "SECRET", None)])),
            (
                "A:B:TOKEN, C:D",
                Ok(vec![("A", "B", Some("TOKEN")), ("C", "D", None)]),
            ),
            ("A:B:tok:en", Ok(vec![("A", "B", Some("tok:en"))])),
            ("A", Err(())),
            (":B", Err(())),
            ("", Err(())),
        ];
        for (raw, expected) in cases {
            let got = parse_credentials(raw);
            match expected {
                Err(()) => assert!(got.is_err(), "{raw}"),
                Ok(list) => {
                    let got = got.unwrap();
                    assert_eq!(got.len(), list.len(), "{raw}");
                    for (akid, secret, token) in list {
                        let c = &got[akid];
                        assert_eq!(c.secret_access_key, secret);
                        assert_eq!(c.session_token.as_deref(), token);
                    }
                }
            }
        }
    }

    #[test]
    fn env_lookup() {
        let env: HashMap<&str, &str> = [
            ("EMULATOR_REGIONS", "eu-west-1, us-east-1"),
            ("EMULATOR_API_KEYS", "k1,k2"),
            ("EMULATOR_DENIED_MODELS", "amazon.nova-pro-v1:0"),
            ("EMULATOR_LIST_FAILS", "1"),
            ("EMULATOR_FAST", "true"),
        ]
        .into_iter()
        .collect();
        let c = EmulatorConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.regions, vec!["eu-west-1", "us-east-1"]);
        assert_eq!(c.default_region(), "eu-west-1");
        assert!(c.api_keys.contains("k2"));
        assert!(c.denied_models.contains("amazon.nova-pro-v1:0"));
        assert!(c.list_fails && c.fast && !c.empty_catalog);
        assert_eq!(
            c.credentials["AKIDEMULATOR"].secret_access_key,
            "emulator-secret"
        );
    }
}

//! Merges the layers (defaults → file → environment) into a validated [`Config`], collecting
//! every problem so one run shows them all. Each message names the key or variable and the fix.

use crate::env::{EnvLayer, FromVar, Tuning};
use crate::raw::{RawConfig, RawProvider, Scalar};
use crate::{
    Config, ConfigError, ImageFetchConfig, InferenceProfiles, ModelsConfig, ModelsMode,
    ProviderConfig, ProviderType, ServerConfig, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_HOST,
    DEFAULT_PORT, DEFAULT_REFRESH_INTERVAL,
};
use std::time::Duration;

/// Where a value came from: named in error messages so the user knows what to edit.
#[derive(Debug, Clone)]
enum Origin {
    Env(String),
    File(String),
}

/// `PORT="abc"` or `server.port: "abc" in config.yaml`.
fn subject(origin: &Origin, file: &str, value: &str) -> String {
    match origin {
        Origin::Env(var) => format!("{var}={value:?}"),
        Origin::File(key) => format!("{key}: {value:?} in {file}"),
    }
}

struct Ctx<'a> {
    file: &'a str,
    problems: Vec<String>,
}

impl Ctx<'_> {
    fn bad(&mut self, origin: &Origin, value: &str, what: &str) {
        let s = subject(origin, self.file, value);
        self.problems.push(format!("{s} {what}"));
    }
}

/// Picks the environment value if set, else the file value, remembering which.
fn pick(
    env: Option<&FromVar<String>>,
    file: Option<&Scalar>,
    key: &str,
) -> Option<(String, Origin)> {
    if let Some(v) = env {
        return Some((v.value.clone(), Origin::Env(v.var.clone())));
    }
    file.and_then(Scalar::non_empty)
        .map(|v| (v.to_owned(), Origin::File(key.to_owned())))
}

pub(crate) fn build(raw: RawConfig, env: EnvLayer, file: &str) -> Result<Config, ConfigError> {
    let mut ctx = Ctx {
        file,
        problems: Vec::new(),
    };
    let server = server(&mut ctx, raw.server.unwrap_or_default(), &env);
    let models = models(&mut ctx, raw.models.unwrap_or_default(), &env);
    let storage = crate::storage::build(raw.storage, &env.storage, file, &mut ctx.problems);
    let image_fetch = image_fetch(&mut ctx, raw.image_fetch.unwrap_or_default(), &env);
    let providers = providers(
        &mut ctx,
        raw.providers.map(|p| p.0).unwrap_or_default(),
        env.providers,
        env.region_fallback,
        env.bearer_token,
    );
    if !ctx.problems.is_empty() {
        return Err(ConfigError::Invalid {
            problems: ctx.problems,
        });
    }
    Ok(Config {
        server,
        models,
        providers,
        storage,
        image_fetch,
        source: None,
    })
}

fn image_fetch(ctx: &mut Ctx, raw: crate::raw::RawImageFetch, env: &EnvLayer) -> ImageFetchConfig {
    let allow_private = match pick(
        env.image_fetch_allow_private.as_ref(),
        raw.allow_private.as_ref(),
        "image_fetch.allow_private",
    ) {
        None => false,
        Some((v, origin)) => crate::storage::parse_bool(&v).unwrap_or_else(|| {
            ctx.bad(&origin, &v, "is not a valid switch: use true or false");
            false
        }),
    };
    ImageFetchConfig { allow_private }
}

fn server(ctx: &mut Ctx, raw: crate::raw::RawServer, env: &EnvLayer) -> ServerConfig {
    let port = match pick(env.port.as_ref(), raw.port.as_ref(), "server.port") {
        None => DEFAULT_PORT,
        Some((v, origin)) => v.parse::<u16>().unwrap_or_else(|_| {
            ctx.bad(
                &origin,
                &v,
                "is not a valid port: use a number from 1 to 65535 (or 0 to pick a free port)",
            );
            DEFAULT_PORT
        }),
    };
    let host = match pick(env.host.as_ref(), raw.host.as_ref(), "server.host") {
        None => DEFAULT_HOST.to_owned(),
        Some((v, origin)) => {
            // Bracketed IPv6 (`[::]`) is how people write it in URLs; binding wants it bare.
            let bare = v
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(&v);
            if bare.chars().any(|c| c.is_whitespace() || c == '/') || bare.contains("://") {
                ctx.bad(
                    &origin,
                    &v,
                    "is not a valid listen address: use an IP address such as \"0.0.0.0\" or \"127.0.0.1\", or a host name (the port goes in PORT / server.port)",
                );
            }
            bare.to_owned()
        }
    };
    let master_key = env.master_key.clone().or_else(|| {
        raw.master_key
            .as_ref()
            .and_then(Scalar::non_empty)
            .map(str::to_owned)
    });
    let body_limit_bytes = match pick(
        env.body_limit.as_ref(),
        raw.body_limit_bytes.as_ref(),
        "server.body_limit_bytes",
    ) {
        None => DEFAULT_BODY_LIMIT_BYTES,
        Some((v, origin)) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                ctx.bad(
                    &origin,
                    &v,
                    "is not a valid body size: use a positive number of bytes such as 33554432 (32 MiB)",
                );
                DEFAULT_BODY_LIMIT_BYTES
            }
        },
    };
    ServerConfig {
        host,
        port,
        master_key,
        body_limit_bytes,
    }
}

fn models(ctx: &mut Ctx, raw: crate::raw::RawModels, env: &EnvLayer) -> ModelsConfig {
    let mode = match pick(
        env.models_mode.as_ref(),
        raw.configured_provider_models_mode.as_ref(),
        "models.configured_provider_models_mode",
    ) {
        None => ModelsMode::default(),
        Some((v, origin)) => ModelsMode::parse(&v).unwrap_or_else(|| {
            ctx.bad(
                &origin,
                &v,
                "is not valid: use \"fallback\" or \"allowlist\"",
            );
            ModelsMode::default()
        }),
    };
    let refresh_interval = match raw.refresh_interval.as_ref().and_then(Scalar::non_empty) {
        None => DEFAULT_REFRESH_INTERVAL,
        Some(v) => parse_duration(v).unwrap_or_else(|| {
            ctx.bad(
                &Origin::File("models.refresh_interval".into()),
                v,
                "is not a valid duration: use a number with a unit such as \"3600s\", \"60m\" or \"1h\" (\"0s\" turns periodic refresh off)",
            );
            DEFAULT_REFRESH_INTERVAL
        }),
    };
    ModelsConfig {
        mode,
        refresh_interval,
    }
}

/// A provider being assembled: each field remembers its origin for later validation.
struct Draft {
    name: String,
    kind: ProviderType,
    base_url: Option<(String, Origin)>,
    models: Vec<String>,
    implicit: bool,
    api_key: Option<String>,
    tuning: std::collections::BTreeMap<Tuning, (String, Origin)>,
}

/// The validated tuning settings of one provider.
#[derive(Default)]
struct Tuned {
    inference_profiles: InferenceProfiles,
    max_retries: Option<u32>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    stream_idle_timeout: Option<Duration>,
    guardrail: Option<crate::GuardrailConfig>,
}

/// Upper bound on `max_retries`: more only multiplies the load on a struggling upstream.
const MAX_RETRIES_LIMIT: u32 = 10;

fn tuned(ctx: &mut Ctx, settings: &std::collections::BTreeMap<Tuning, (String, Origin)>) -> Tuned {
    let mut out = Tuned {
        guardrail: guardrail(ctx, settings),
        ..Tuned::default()
    };
    for (tuning, (value, origin)) in settings {
        match tuning {
            // Validated together by `guardrail`.
            Tuning::GuardrailId
            | Tuning::GuardrailVersion
            | Tuning::GuardrailTrace
            | Tuning::GuardrailStreamMode => {}
            Tuning::InferenceProfiles => match InferenceProfiles::parse(value) {
                Some(v) => out.inference_profiles = v,
                None => ctx.bad(origin, value, "is not valid: use \"auto\" (route profile-only models to the region's inference profile) or \"off\""),
            },
            Tuning::MaxRetries => match value.parse::<u32>() {
                Ok(n) if n <= MAX_RETRIES_LIMIT => out.max_retries = Some(n),
                _ => ctx.bad(origin, value, &format!("is not a valid retry count: use a number from 0 to {MAX_RETRIES_LIMIT}")),
            },
            Tuning::ConnectTimeout | Tuning::RequestTimeout | Tuning::StreamIdleTimeout => {
                match parse_duration(value).filter(|d| !d.is_zero()) {
                    Some(d) => {
                        let slot = match tuning {
                            Tuning::ConnectTimeout => &mut out.connect_timeout,
                            Tuning::RequestTimeout => &mut out.request_timeout,
                            _ => &mut out.stream_idle_timeout,
                        };
                        *slot = Some(d);
                    }
                    None => ctx.bad(origin, value, "is not a valid timeout: use a positive duration such as \"30s\", \"2m\" or \"500ms\""),
                }
            }
        }
    }
    out
}

/// Allowed values of the guardrail settings besides the identifier: (setting, values).
const GUARDRAIL_CHOICES: [(Tuning, &[&str]); 2] = [
    (
        Tuning::GuardrailTrace,
        &["enabled", "disabled", "enabled_full"],
    ),
    (Tuning::GuardrailStreamMode, &["sync", "async"]),
];

/// The guardrail settings as one value: an identifier (id or ARN, as Bedrock's pattern) needs a
/// version (a number or `DRAFT`, never guessed: an unpublished draft must be chosen explicitly),
/// and the other settings need the identifier.
fn guardrail(
    ctx: &mut Ctx,
    settings: &std::collections::BTreeMap<Tuning, (String, Origin)>,
) -> Option<crate::GuardrailConfig> {
    let get = |t: Tuning| settings.get(&t);
    let mut ok = true;
    for (t, allowed) in GUARDRAIL_CHOICES {
        if let Some((v, origin)) = get(t) {
            if !allowed.contains(&v.as_str()) {
                ctx.bad(
                    origin,
                    v,
                    &format!("is not valid: use one of {}", allowed.join(", ")),
                );
                ok = false;
            }
        }
    }
    let Some((id, id_origin)) = get(Tuning::GuardrailId) else {
        if let Some((v, origin)) = [
            Tuning::GuardrailVersion,
            Tuning::GuardrailTrace,
            Tuning::GuardrailStreamMode,
        ]
        .into_iter()
        .find_map(get)
        {
            ctx.bad(origin, v, "needs a guardrail identifier (guardrail.identifier / BEDROCK[_<SUFFIX>]_GUARDRAIL_ID)");
        }
        return None;
    };
    let arn = id.starts_with("arn:aws") && id.contains(":guardrail/");
    if !arn
        && !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        ctx.bad(
            id_origin,
            id,
            "is not a guardrail id (lowercase letters and digits) or guardrail ARN",
        );
        ok = false;
    }
    let version = match get(Tuning::GuardrailVersion) {
        Some((v, _))
            if v == "DRAFT" || (!v.is_empty() && v.chars().all(|c| c.is_ascii_digit())) =>
        {
            v.clone()
        }
        Some((v, origin)) => {
            ctx.bad(
                origin,
                v,
                "is not a guardrail version: use a version number or DRAFT",
            );
            return None;
        }
        None => {
            ctx.bad(id_origin, id, "needs a guardrail version too (guardrail.version / BEDROCK[_<SUFFIX>]_GUARDRAIL_VERSION): a number or DRAFT");
            return None;
        }
    };
    ok.then(|| crate::GuardrailConfig {
        identifier: id.clone(),
        version,
        trace: get(Tuning::GuardrailTrace).map(|(v, _)| v.clone()),
        stream_processing_mode: get(Tuning::GuardrailStreamMode).map(|(v, _)| v.clone()),
    })
}

fn providers(
    ctx: &mut Ctx,
    file: Vec<(String, RawProvider)>,
    env: Vec<(String, crate::env::EnvProvider)>,
    region_fallback: Option<String>,
    bearer_token: Option<String>,
) -> Vec<ProviderConfig> {
    let mut drafts: Vec<Draft> = Vec::with_capacity(file.len() + env.len());
    for (name, raw) in file {
        let key = format!("providers.{name}");
        if name.trim().is_empty() || name.contains('/') || name.chars().any(char::is_whitespace) {
            ctx.problems.push(format!(
                "{key} in {}: {name:?} is not a valid provider name: use letters, digits and \"-\" (no \"/\", which separates provider and model in \"provider/model\")",
                ctx.file
            ));
        }
        let kind = match raw.kind.as_ref().and_then(Scalar::non_empty) {
            None => {
                ctx.problems.push(format!(
                    "{key}.type is missing in {}: add \"type: bedrock\"",
                    ctx.file
                ));
                ProviderType::Bedrock
            }
            Some(t) => ProviderType::parse(t).unwrap_or_else(|| {
                ctx.bad(
                    &Origin::File(format!("{key}.type")),
                    t,
                    "is not a supported provider type: use \"bedrock\"",
                );
                ProviderType::Bedrock
            }),
        };
        let tuning = raw
            .tuning()
            .into_iter()
            .filter_map(|(t, v)| {
                let origin = Origin::File(format!("{key}.{}", t.yaml_key()));
                v.non_empty().map(|v| (t, (v.to_owned(), origin)))
            })
            .collect();
        drafts.push(Draft {
            api_key: raw
                .api_key
                .as_ref()
                .and_then(Scalar::non_empty)
                .map(str::to_owned),
            tuning,
            base_url: raw
                .base_url
                .as_ref()
                .and_then(Scalar::non_empty)
                .map(|v| (v.to_owned(), Origin::File(format!("{key}.base_url")))),
            models: raw.models.map(|m| m.0).unwrap_or_default(),
            name,
            kind,
            implicit: false,
        });
    }
    // Environment settings override the file's provider of the same name, field by field.
    for (name, ep) in env {
        let idx = match drafts.iter().position(|d| d.name == name) {
            Some(idx) => idx,
            None => {
                drafts.push(Draft {
                    name,
                    kind: ProviderType::Bedrock,
                    base_url: None,
                    models: Vec::new(),
                    // Tuning variables alone (`BEDROCK_MAX_RETRIES=5`) tune the default
                    // provider; they do not make a region mandatory.
                    implicit: ep.base_url.is_none() && ep.models.is_none(),
                    api_key: None,
                    tuning: Default::default(),
                });
                drafts.len() - 1
            }
        };
        let draft = &mut drafts[idx];
        if let Some(b) = ep.base_url {
            draft.base_url = Some((b.value, Origin::Env(b.var)));
        }
        if let Some(m) = ep.models {
            draft.models = m.value;
        }
        for (t, v) in ep.tuning {
            draft.tuning.insert(t, (v.value, Origin::Env(v.var)));
        }
    }
    // With nothing configured, still offer `bedrock`: region and credentials may come from the
    // AWS chain alone (AWS_REGION, profiles, instance roles), as in GoModel.
    if drafts.iter().all(|d| d.implicit) && !drafts.iter().any(|d| d.name == "bedrock") {
        drafts.insert(
            0,
            Draft {
                name: "bedrock".to_owned(),
                kind: ProviderType::Bedrock,
                base_url: None,
                models: Vec::new(),
                implicit: true,
                api_key: None,
                tuning: Default::default(),
            },
        );
    }
    drafts
        .into_iter()
        .map(|d| {
            if let Some((url, origin)) = &d.base_url {
                if !is_region(url) && !is_http_url(url) {
                    ctx.bad(
                        origin,
                        url,
                        "is not a valid Bedrock base URL: use a region such as \"us-east-1\" or a full URL such as \"https://bedrock-runtime.us-east-1.amazonaws.com\"",
                    );
                }
            }
            let t = tuned(ctx, &d.tuning);
            ProviderConfig {
                name: d.name,
                kind: d.kind,
                base_url: d.base_url.map(|(u, _)| u),
                region_fallback: region_fallback.clone(),
                models: d.models,
                implicit: d.implicit,
                api_key: d.api_key.or_else(|| bearer_token.clone()),
                inference_profiles: t.inference_profiles,
                max_retries: t.max_retries,
                connect_timeout: t.connect_timeout,
                request_timeout: t.request_timeout,
                stream_idle_timeout: t.stream_idle_timeout,
                guardrail: t.guardrail,
            }
        })
        .collect()
}

/// `us-east-1`, `us-gov-west-1`, `ap-southeast-2`: two letters, words, a number.
pub(crate) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Go-style durations (`3600s`, `1h30m`, `1.5h`, `500ms`); a bare number means seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recognises_regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "eu-central-1",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "us_east_1",
            "u-east-1",
            "us--1",
            "bedrock",
            "",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn recognises_urls() {
        for ok in [
            "https://bedrock-runtime.us-east-1.amazonaws.com",
            "http://127.0.0.1:4566",
            "http://localhost:9000/",
            "https://vpce-1.bedrock-runtime.eu-west-1.vpce.amazonaws.com",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "ftp://x",
            "bedrock-runtime.us-east-1.amazonaws.com",
            "http://",
            "us-east-1",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn parses_durations() {
        let cases = [
            ("3600s", Some(3_600_000)),
            ("3600", Some(3_600_000)),
            ("60m", Some(3_600_000)),
            ("1h", Some(3_600_000)),
            ("1h30m", Some(5_400_000)),
            ("1.5h", Some(5_400_000)),
            ("500ms", Some(500)),
            ("0s", Some(0)),
            ("", None),
            ("1d", None),
            ("h", None),
            ("-5s", None),
            ("5 s", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input).map(|d| d.as_millis() as u64),
                want,
                "{input}"
            );
        }
    }
}

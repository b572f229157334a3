//! The `storage:` block and its environment variables: where usage records and stored responses
//! live, and the optional audit log.
//!
//! ```yaml
//! storage:
//!   enabled: true              # STORAGE_ENABLED (false: no usage records, no stored responses)
//!   type: sqlite               # STORAGE_TYPE: sqlite (default) | postgres
//!   path: data/gomodel.db      # SQLITE_PATH
//!   url: postgres://u:p@h/db   # DATABASE_URL (setting it alone selects postgres)
//!   audit_log: false           # AUDIT_LOG_ENABLED: log request/response bodies (redacted, capped)
//!   audit_log_max_bytes: 16384
//! ```

use crate::raw::Scalar;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

pub const DEFAULT_SQLITE_PATH: &str = "data/gomodel.db";
pub const DEFAULT_AUDIT_LOG_MAX_BYTES: usize = 16 * 1024;

#[derive(Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// False: nothing is recorded or stored (`store: true` is then reported as `false`).
    pub enabled: bool,
    pub backend: StorageBackend,
    /// Log request and response bodies (keys and image bytes redacted, cut at the cap).
    pub audit_log: bool,
    pub audit_log_max_bytes: usize,
}

#[derive(Clone, PartialEq, Eq)]
pub enum StorageBackend {
    /// Relative paths are relative to the working directory.
    Sqlite { path: PathBuf },
    /// May hold a password: `Debug` never prints it.
    Postgres { url: String },
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            enabled: true,
            backend: StorageBackend::Sqlite {
                path: PathBuf::from(DEFAULT_SQLITE_PATH),
            },
            audit_log: false,
            audit_log_max_bytes: DEFAULT_AUDIT_LOG_MAX_BYTES,
        }
    }
}

impl fmt::Debug for StorageBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageBackend::Sqlite { path } => {
                f.debug_struct("Sqlite").field("path", path).finish()
            }
            StorageBackend::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("enabled", &self.enabled)
            .field("backend", &self.backend)
            .field("audit_log", &self.audit_log)
            .field("audit_log_max_bytes", &self.audit_log_max_bytes)
            .finish()
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    pub enabled: Option<Scalar>,
    #[serde(rename = "type")]
    pub kind: Option<Scalar>,
    pub path: Option<Scalar>,
    pub url: Option<Scalar>,
    pub audit_log: Option<Scalar>,
    pub audit_log_max_bytes: Option<Scalar>,
}

/// The storage variables that are set (non-empty), by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvStorage(Vec<(&'static str, String)>);

const VARS: [&str; 5] = [
    "STORAGE_ENABLED",
    "STORAGE_TYPE",
    "SQLITE_PATH",
    "DATABASE_URL",
    "AUDIT_LOG_ENABLED",
];

pub(crate) fn read_env(env: &HashMap<String, String>) -> EnvStorage {
    EnvStorage(
        VARS.iter()
            .filter_map(|var| {
                let v = env.get(*var)?.trim();
                (!v.is_empty()).then(|| (*var, v.to_owned()))
            })
            .collect(),
    )
}

impl EnvStorage {
    fn get(&self, var: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| v.as_str())
    }
}

/// A value and where it came from: `STORAGE_TYPE` or `storage.type in config.yaml`.
struct Picked<'a> {
    value: &'a str,
    from_env: Option<&'static str>,
    key: &'static str,
}

impl Picked<'_> {
    fn subject(&self, file: &str, shown: &str) -> String {
        match self.from_env {
            Some(var) => format!("{var}={shown:?}"),
            None => format!("{}: {shown:?} in {file}", self.key),
        }
    }
}

fn pick<'a>(
    env: &'a EnvStorage,
    var: &'static str,
    file: Option<&'a Scalar>,
    key: &'static str,
) -> Option<Picked<'a>> {
    if let Some(v) = env.get(var) {
        return Some(Picked {
            value: v,
            from_env: Some(var),
            key,
        });
    }
    file.and_then(Scalar::non_empty).map(|v| Picked {
        value: v,
        from_env: None,
        key,
    })
}

/// A switch as written in the environment or the file.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Validates the storage settings; problems are appended to `problems`, each naming the key or
/// variable and the fix (URLs are quoted with the password redacted).
pub(crate) fn build(
    raw: Option<RawStorage>,
    env: &EnvStorage,
    file: &str,
    problems: &mut Vec<String>,
) -> StorageConfig {
    let raw = raw.unwrap_or_default();
    let mut out = StorageConfig::default();
    let mut flag =
        |var, scalar: Option<&Scalar>, key, default: bool| match pick(env, var, scalar, key) {
            None => default,
            Some(p) => parse_bool(p.value).unwrap_or_else(|| {
                problems.push(format!(
                    "{} is not a valid switch: use true or false",
                    p.subject(file, p.value)
                ));
                default
            }),
        };
    out.enabled = flag(
        "STORAGE_ENABLED",
        raw.enabled.as_ref(),
        "storage.enabled",
        true,
    );
    out.audit_log = flag(
        "AUDIT_LOG_ENABLED",
        raw.audit_log.as_ref(),
        "storage.audit_log",
        false,
    );
    if let Some(v) = raw.audit_log_max_bytes.as_ref().and_then(Scalar::non_empty) {
        match v.parse::<usize>() {
            Ok(n) if n > 0 => out.audit_log_max_bytes = n,
            _ => problems.push(format!(
                "storage.audit_log_max_bytes: {v:?} in {file} is not a valid size: use a positive number of bytes such as 16384"
            )),
        }
    }

    let url = pick(env, "DATABASE_URL", raw.url.as_ref(), "storage.url");
    // An explicit type wins; otherwise a URL given in the environment (or, failing that, in the
    // file) selects PostgreSQL, and SQLite is the default.
    let kind = match (env.get("STORAGE_TYPE"), &url) {
        (Some(_), _) => pick(env, "STORAGE_TYPE", None, "storage.type"),
        (None, Some(u)) if u.from_env.is_some() => None,
        _ => pick(env, "STORAGE_TYPE", raw.kind.as_ref(), "storage.type"),
    };
    let postgres = match &kind {
        None => url.is_some(),
        Some(k) => match k.value.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => false,
            "postgres" | "postgresql" => true,
            _ => {
                problems.push(format!(
                    "{} is not a supported storage type: use \"sqlite\" or \"postgres\"",
                    k.subject(file, k.value)
                ));
                false
            }
        },
    };
    if postgres {
        match url {
            None => problems.push(format!(
                "{} needs a database URL: set DATABASE_URL or storage.url to postgres://USER:PASSWORD@HOST:5432/DATABASE",
                kind.map_or_else(
                    || "storage.type".to_owned(),
                    |k| k.subject(file, k.value)
                )
            )),
            Some(u) => {
                let ok = url::Url::parse(u.value).is_ok_and(|p| {
                    matches!(p.scheme(), "postgres" | "postgresql")
                        && p.host_str().is_some_and(|h| !h.is_empty())
                });
                if ok {
                    out.backend = StorageBackend::Postgres {
                        url: u.value.to_owned(),
                    };
                } else {
                    problems.push(format!(
                        "{} is not a valid PostgreSQL URL: use postgres://USER:PASSWORD@HOST:5432/DATABASE",
                        u.subject(file, &redact_url(u.value))
                    ));
                }
            }
        }
    } else if let Some(p) = pick(env, "SQLITE_PATH", raw.path.as_ref(), "storage.path") {
        out.backend = StorageBackend::Sqlite {
            path: PathBuf::from(p.value),
        };
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;
    use crate::from_yaml_str;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn ok(yaml: &str, vars: &[(&str, &str)]) -> StorageConfig {
        match from_yaml_str(yaml, "config.yaml", &env(vars)) {
            Ok(c) => c.storage,
            Err(e) => panic!("{yaml:?} {vars:?}: {e}"),
        }
    }

    fn err(yaml: &str, vars: &[(&str, &str)]) -> String {
        match from_yaml_str(yaml, "config.yaml", &env(vars)) {
            Ok(c) => panic!("{yaml:?} {vars:?}: expected an error, got {:?}", c.storage),
            Err(e) => e.to_string(),
        }
    }

    fn sqlite(path: &str) -> StorageBackend {
        StorageBackend::Sqlite {
            path: PathBuf::from(path),
        }
    }

    fn pg(url: &str) -> StorageBackend {
        StorageBackend::Postgres { url: url.into() }
    }

    #[test]
    fn default_is_sqlite_in_data_dir_enabled_without_audit() {
        let s = ok("", &[]);
        assert!(s.enabled);
        assert_eq!(s.backend, sqlite("data/gomodel.db"));
        assert!(!s.audit_log);
        assert_eq!(s.audit_log_max_bytes, 16384);
    }

    #[test]
    fn file_settings() {
        let s = ok(
            "storage:\n  type: sqlite\n  path: /var/lib/gm.db\n  audit_log: true\n  audit_log_max_bytes: 100\n",
            &[],
        );
        assert_eq!(s.backend, sqlite("/var/lib/gm.db"));
        assert!(s.audit_log);
        assert_eq!(s.audit_log_max_bytes, 100);
        let s = ok(
            "storage:\n  type: postgres\n  url: postgres://u:p@db:5432/gm\n",
            &[],
        );
        assert_eq!(s.backend, pg("postgres://u:p@db:5432/gm"));
        // A URL alone selects PostgreSQL.
        let s = ok("storage:\n  url: postgresql://db/gm\n", &[]);
        assert_eq!(s.backend, pg("postgresql://db/gm"));
        assert!(!ok("storage:\n  enabled: false\n", &[]).enabled);
    }

    #[test]
    fn environment_wins() {
        let yaml = "storage:\n  type: sqlite\n  path: file.db\n";
        assert_eq!(
            ok(yaml, &[("SQLITE_PATH", "env.db")]).backend,
            sqlite("env.db")
        );
        // DATABASE_URL alone in the environment switches to PostgreSQL over the file's type...
        assert_eq!(
            ok(yaml, &[("DATABASE_URL", "postgres://h/d")]).backend,
            pg("postgres://h/d")
        );
        // ...unless STORAGE_TYPE says otherwise.
        assert_eq!(
            ok(
                yaml,
                &[
                    ("DATABASE_URL", "postgres://h/d"),
                    ("STORAGE_TYPE", "sqlite")
                ]
            )
            .backend,
            sqlite("file.db")
        );
        assert_eq!(
            ok(
                "storage:\n  url: postgres://file/db\n",
                &[("STORAGE_TYPE", "postgres")]
            )
            .backend,
            pg("postgres://file/db")
        );
        assert!(!ok("", &[("STORAGE_ENABLED", "false")]).enabled);
        assert!(ok("storage:\n  enabled: false\n", &[("STORAGE_ENABLED", "1")]).enabled);
        assert!(ok("", &[("AUDIT_LOG_ENABLED", "on")]).audit_log);
        // Empty variables count as unset.
        assert_eq!(
            ok(yaml, &[("SQLITE_PATH", ""), ("DATABASE_URL", " ")]).backend,
            sqlite("file.db")
        );
    }

    #[test]
    fn errors_name_the_key_and_never_the_password() {
        let cases: [(&str, &[(&str, &str)], &[&str]); 7] = [
            (
                "storage:\n  type: mongodb\n",
                &[],
                &[
                    "storage.type: \"mongodb\" in config.yaml",
                    "\"sqlite\" or \"postgres\"",
                ],
            ),
            (
                "",
                &[("STORAGE_TYPE", "mysql")],
                &["STORAGE_TYPE=\"mysql\""],
            ),
            (
                "",
                &[("STORAGE_TYPE", "postgres")],
                &[
                    "STORAGE_TYPE=\"postgres\" needs a database URL",
                    "DATABASE_URL",
                ],
            ),
            (
                "",
                &[("DATABASE_URL", "mysql://u:hunter2@h/d")],
                &[
                    "DATABASE_URL=\"mysql://u:***@h/d\"",
                    "not a valid PostgreSQL URL",
                ],
            ),
            (
                "storage:\n  type: postgres\n  url: not a url\n",
                &[],
                &["storage.url: \"<unparseable URL>\" in config.yaml"],
            ),
            (
                "",
                &[("STORAGE_ENABLED", "maybe")],
                &["STORAGE_ENABLED=\"maybe\" is not a valid switch"],
            ),
            (
                "storage:\n  audit_log_max_bytes: -1\n",
                &[],
                &["storage.audit_log_max_bytes: \"-1\" in config.yaml"],
            ),
        ];
        for (yaml, vars, wants) in cases {
            let e = err(yaml, vars);
            for want in wants {
                assert!(e.contains(want), "{yaml:?} {vars:?}: {e}");
            }
            assert!(!e.contains("hunter2"), "{e}");
        }
        let e = err("storage:\n  kind: sqlite\n", &[]);
        assert!(e.contains("kind"), "{e}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let s = ok("", &[("DATABASE_URL", "postgres://gm:hunter2@db/gm")]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://gm:***@db/gm"), "{shown}");
    }
}

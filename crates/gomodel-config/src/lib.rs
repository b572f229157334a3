//! Gateway configuration: built-in defaults, then `config.yaml` (with `${VAR}` expansion), then
//! environment variables; the environment wins.
//!
//! File lookup: `--config PATH` or `GOMODEL_CONFIG` (explicit: a missing file is an error), else
//! `./config.yaml`, else `./config/config.yaml` (neither existing is fine).
//!
//! Environment variables (an empty variable counts as unset):
//! - `PORT`, `GOMODEL_HOST`, `GOMODEL_MASTER_KEY`, `CONFIGURED_PROVIDER_MODELS_MODE`
//! - `BEDROCK_BASE_URL` / `BEDROCK_MODELS` (comma-separated) define or override provider `bedrock`;
//!   `BEDROCK_<SUFFIX>_BASE_URL` / `BEDROCK_<SUFFIX>_MODELS` define or override
//!   `bedrock-<suffix>` (lowercased, `_` → `-`: `BEDROCK_US_EAST_BASE_URL` → `bedrock-us-east`).
//! - `AWS_REGION`, else `AWS_DEFAULT_REGION`: every provider's region fallback.
//! - `STORAGE_ENABLED`, `STORAGE_TYPE`, `SQLITE_PATH`, `DATABASE_URL`, `AUDIT_LOG_ENABLED`: the
//!   `storage:` block (see [`StorageConfig`]).
//! - `IMAGE_FETCH_ALLOW_PRIVATE`: `image_fetch.allow_private` (see [`ImageFetchConfig`]).
//!
//! When no provider is configured at all, a provider `bedrock` with no base URL is registered
//! anyway ([`ProviderConfig::implicit`]): its region then comes from `AWS_REGION` /
//! `AWS_DEFAULT_REGION` or the AWS profile, as GoModel does when AWS credentials are discoverable.
//!
//! The environment is passed in as a map so tests never touch the process environment.

mod env;
mod expand;
mod raw;
mod storage;
mod validate;

pub use storage::{redact_url, StorageBackend, StorageConfig};

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_HOST: &str = "0.0.0.0";
/// 32 MiB: enough for a few base64 images or PDFs in one chat request.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 32 * 1024 * 1024;
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);

/// The validated configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    pub models: ModelsConfig,
    /// In file order, then environment-only providers (`bedrock` first, then by name).
    pub providers: Vec<ProviderConfig>,
    /// Usage records, stored responses, audit log (`storage:`, `DATABASE_URL`, ...).
    pub storage: StorageConfig,
    /// Downloads of the http(s) image URLs in requests (`image_fetch:`).
    pub image_fetch: ImageFetchConfig,
    /// The config file that was read, if any.
    pub source: Option<PathBuf>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub host: String,
    /// 0 asks the OS for a free port.
    pub port: u16,
    /// `None`: the gateway is open. Never printed by `Debug`.
    pub master_key: Option<String>,
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelsConfig {
    pub mode: ModelsMode,
    /// How often the model registry is rebuilt; zero turns periodic refresh off.
    pub refresh_interval: Duration,
}

/// `image_fetch:`: where the gateway may download the image URLs of requests from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFetchConfig {
    /// `allow_private` / `IMAGE_FETCH_ALLOW_PRIVATE` (default false): also fetch from loopback,
    /// private, link-local and other non-public addresses. Off, such URLs are refused with a 400,
    /// so a request cannot make the gateway read internal services or the cloud instance
    /// metadata endpoint (server-side request forgery).
    pub allow_private: bool,
}

/// `CONFIGURED_PROVIDER_MODELS_MODE`: the core's own type, so the binary passes it through as is.
pub use gomodel_core::model::ModelsMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderType {
    Bedrock,
}

impl ProviderType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bedrock" => Some(ProviderType::Bedrock),
            _ => None,
        }
    }
}

/// `providers.<name>.inference_profiles` / `BEDROCK[_<SUFFIX>]_INFERENCE_PROFILES`: whether
/// base ids of inference-profile-only models are routed to the region's system profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InferenceProfiles {
    #[default]
    Auto,
    Off,
}

impl InferenceProfiles {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "on" | "true" => Some(InferenceProfiles::Auto),
            "off" | "false" => Some(InferenceProfiles::Off),
            _ => None,
        }
    }
}

/// `providers.<name>.guardrail` / `BEDROCK[_<SUFFIX>]_GUARDRAIL_ID`, `_GUARDRAIL_VERSION`,
/// `_GUARDRAIL_TRACE`, `_GUARDRAIL_STREAM_PROCESSING_MODE`: a Bedrock guardrail applied to every
/// chat call of the provider that does not name its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailConfig {
    /// Guardrail id (`abc123def`) or ARN.
    pub identifier: String,
    /// A version number or `DRAFT`.
    pub version: String,
    /// `enabled` | `disabled` | `enabled_full`.
    pub trace: Option<String>,
    /// `sync` | `async` (streamed calls only).
    pub stream_processing_mode: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The registry name: the YAML key, `bedrock`, or `bedrock-<suffix>`.
    pub name: String,
    pub kind: ProviderType,
    /// A region (`us-east-1`) or a full http(s) URL; `None` means "use `region_fallback`".
    pub base_url: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region_fallback: Option<String>,
    /// Configured model ids (trimmed, no empty items).
    pub models: Vec<String>,
    /// True for the default `bedrock` registered because nothing was configured: failing to set
    /// it up is then a warning, not a startup error.
    pub implicit: bool,
    /// A Bedrock API key (`api_key`, else `AWS_BEARER_TOKEN_BEDROCK`): `Authorization: Bearer`
    /// instead of SigV4.
    pub api_key: Option<String>,
    pub inference_profiles: InferenceProfiles,
    /// Retries of throttled / failed upstream calls (`None`: the provider's default).
    pub max_retries: Option<u32>,
    pub connect_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
    pub stream_idle_timeout: Option<Duration>,
    pub guardrail: Option<GuardrailConfig>,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("region_fallback", &self.region_fallback)
            .field("models", &self.models)
            .field("implicit", &self.implicit)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("inference_profiles", &self.inference_profiles)
            .field("max_retries", &self.max_retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("guardrail", &self.guardrail)
            .finish()
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("body_limit_bytes", &self.body_limit_bytes)
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("models", &self.models)
            .field("providers", &self.providers)
            .field("storage", &self.storage)
            .field("image_fetch", &self.image_fetch)
            .field("source", &self.source)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} (from {origin}) does not exist: fix the path or remove {origin}", path.display())]
    MissingFile { path: PathBuf, origin: &'static str },
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Expand {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}", format_problems(problems))]
    Invalid { problems: Vec<String> },
    #[error("cannot load {}: {message}", path.display())]
    Dotenv { path: PathBuf, message: String },
}

fn format_problems(problems: &[String]) -> String {
    match problems {
        [one] => format!("invalid configuration: {one}"),
        many => {
            let mut s = format!("invalid configuration ({} problems):", many.len());
            for p in many {
                s.push_str("\n  - ");
                s.push_str(p);
            }
            s
        }
    }
}

/// Loads the configuration with paths relative to the current directory.
pub fn load(
    config_path: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    load_in(Path::new("."), config_path, env)
}

/// Loads the configuration with relative paths resolved against `dir`.
pub fn load_in(
    dir: &Path,
    config_path: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    let layer = env::read(env);
    let explicit = match (config_path, &layer.config_path) {
        (Some(p), _) => Some((p.to_path_buf(), "--config")),
        (None, Some(p)) => Some((PathBuf::from(p), "GOMODEL_CONFIG")),
        (None, None) => None,
    };
    let found = match explicit {
        Some((path, origin)) => {
            let full = dir.join(&path);
            match std::fs::read_to_string(&full) {
                Ok(text) => Some((path, text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ConfigError::MissingFile { path, origin })
                }
                Err(source) => return Err(ConfigError::Read { path, source }),
            }
        }
        None => {
            let mut found = None;
            for candidate in ["config.yaml", "config/config.yaml"] {
                match std::fs::read_to_string(dir.join(candidate)) {
                    Ok(text) => {
                        found = Some((PathBuf::from(candidate), text));
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => {
                        return Err(ConfigError::Read {
                            path: candidate.into(),
                            source,
                        })
                    }
                }
            }
            found
        }
    };
    match found {
        Some((path, text)) => {
            let mut config = parse(&text, &path.display().to_string(), env, layer)?;
            config.source = Some(path);
            Ok(config)
        }
        None => validate::build(raw::RawConfig::default(), layer, "config.yaml"),
    }
}

/// Builds the configuration from YAML text (named `file` in messages) and the environment.
pub fn from_yaml_str(
    text: &str,
    file: &str,
    env: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    parse(text, file, env, env::read(env))
}

fn parse(
    text: &str,
    file: &str,
    env: &HashMap<String, String>,
    layer: env::EnvLayer,
) -> Result<Config, ConfigError> {
    let expanded = expand::expand(text, env).map_err(|e| ConfigError::Expand {
        file: file.to_owned(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let raw = parse_yaml(&expanded, file)?;
    validate::build(raw, layer, file)
}

/// An empty file (or only comments) is a valid "no settings" file.
fn parse_yaml(text: &str, file: &str) -> Result<raw::RawConfig, ConfigError> {
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Ok(raw::RawConfig::default());
    }
    serde_saphyr::from_str::<Option<raw::RawConfig>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            ConfigError::Yaml {
                file: file.to_owned(),
                line,
                column,
                message: strip_location(e.without_snippet().to_string(), line, column),
            }
        })
}

/// The parser appends " at line L, column C" to its messages; the error already leads with the
/// position, so drop the repetition.
fn strip_location(mut message: String, line: u64, column: u64) -> String {
    let suffix = format!(" at line {line}, column {column}");
    if message.ends_with(&suffix) {
        message.truncate(message.len() - suffix.len());
    }
    message
}

/// Loads `dir/.env` if present, without overriding variables already set (dotenvy semantics).
/// Returns the path when a file was loaded.
///
/// This writes the process environment, so call it at startup before any other thread exists.
pub fn load_dotenv(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let path = dir.join(".env");
    match dotenvy::from_path(&path) {
        Ok(()) => Ok(Some(path)),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::Dotenv {
            path,
            message: e.to_string(),
        }),
    }
}

/// The process environment as a map (variables that are not valid UTF-8 are skipped).
pub fn process_env() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests;

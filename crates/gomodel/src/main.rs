//! `gomodel`: an OpenAI-compatible gateway in front of Amazon Bedrock.

use clap::Parser;
use gomodel::app::{router, AppState, RouterOptions};
use gomodel::audit::AuditLog;
use gomodel::auth::MasterKey;
use gomodel::usage::UsageSink;
use gomodel::{metrics, shutdown, startup, telemetry};
use gomodel_core::registry::Registry;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc instead of glibc malloc: the request path allocates many small, short-lived buffers
/// (headers, JSON, signing), and glibc's allocator showed up at ~17 % of gateway CPU under load.
/// (`--no-default-features` builds with the system allocator, for comparison.)
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Freed memory goes back to the OS after 10 ms instead of mimalloc 3's default of 1 s (10 ms
/// was mimalloc 2's default). With 1 s, RSS under load swung in a one-second sawtooth (a
/// second's worth of freed request buffers held) and peaked ~4 MB higher at c=100, with no
/// CPU difference measured (docs/benchmarks.md). `MIMALLOC_PURGE_DELAY` in the environment
/// still wins: mimalloc reads it before `main`.
#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)]
fn tune_allocator() {
    /// `mi_option_purge_delay`: position 15 of `mi_option_e` in mimalloc 2 and 3 alike (the
    /// sys crate does not export this constant).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const PURGE_DELAY_MS: std::ffi::c_long = 10;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: stores an option value; runs first in `main`, before any other thread exists,
        // as mimalloc requires of `mi_option_set`.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[cfg(not(feature = "mimalloc"))]
fn tune_allocator() {}

#[derive(Debug, Parser)]
#[command(
    name = "gomodel",
    version,
    about = "OpenAI-compatible AI gateway (Amazon Bedrock)"
)]
struct Cli {
    /// Config file (default: ./config.yaml, else ./config/config.yaml). Also GOMODEL_CONFIG.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// Exit code for configuration errors (bad flags exit 2 through clap as well).
const EXIT_CONFIG: u8 = 2;

/// How long shutdown keeps trying to write queued usage records (a database that is down
/// then costs at most this much; the loss is logged and counted).
const USAGE_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // `.env` writes the process environment, so it must happen before any thread exists
    // (the tokio runtime is built below, not by `#[tokio::main]`).
    let dotenv = gomodel_config::load_dotenv(std::path::Path::new("."));
    let env = gomodel_config::process_env();
    telemetry::init_tracing(
        env.get("RUST_LOG").map(String::as_str),
        env.get("LOG_LEVEL").map(String::as_str),
        env.get("LOG_FORMAT").map(String::as_str),
    );
    match dotenv {
        Ok(Some(path)) => tracing::info!(path = %path.display(), "loaded .env"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("gomodel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    let config = match gomodel_config::load(cli.config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gomodel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gomodel: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(config));
    // Streams cut at the drain timeout may still hold tasks; do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(config: gomodel_config::Config) -> ExitCode {
    if let Some(path) = &config.source {
        tracing::info!(path = %path.display(), "loaded config file");
    }
    if config.server.master_key.is_none() {
        tracing::warn!(
            "GOMODEL_MASTER_KEY is not set: the gateway is open to anyone who can reach it"
        );
    }
    let http = match startup::http_clients() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gomodel: cannot build the HTTP clients: {e}");
            return ExitCode::FAILURE;
        }
    };
    let providers = match startup::build_providers(&config, &http).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gomodel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Metrics first: handles taken before the recorder exists (the usage writer's) are no-ops.
    let metrics = metrics::install();
    let upkeep = metrics.clone().map(metrics::spawn_upkeep);
    let storage = match startup::open_storage(&config.storage).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gomodel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let registry = Arc::new(Registry::new(providers));
    startup::initial_refresh(&registry).await;
    let refresher = startup::spawn_refresh(registry.clone(), config.models.refresh_interval);

    let state = AppState {
        registry,
        storage: storage.as_ref().map(|s| s.storage.clone()),
        usage: UsageSink::new(storage.as_ref().map(|s| s.recorder.clone())),
        metrics,
        audit: config.storage.audit_log.then_some(AuditLog {
            max_bytes: config.storage.audit_log_max_bytes,
        }),
    };
    if state.audit.is_some() {
        tracing::warn!("audit log on: request and response bodies are logged (redacted, capped)");
    }
    if config.image_fetch.allow_private {
        tracing::warn!(
            "IMAGE_FETCH_ALLOW_PRIVATE on: image URLs in requests may point at loopback, private and link-local addresses (internal services, cloud instance metadata)"
        );
    }
    let app = router(
        Arc::new(state),
        RouterOptions {
            master_key: config.server.master_key.as_deref().map(MasterKey::new),
            body_limit_bytes: config.server.body_limit_bytes,
        },
    );
    let addr = (config.server.host.as_str(), config.server.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "gomodel: cannot listen on {}:{}: {e} (change PORT / GOMODEL_HOST)",
                config.server.host, config.server.port
            );
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => tracing::info!("listening on http://{local}"),
        Err(_) => tracing::info!("listening on {}:{}", config.server.host, config.server.port),
    }
    let result = shutdown::serve(listener, app, shutdown::signal(), shutdown::DRAIN_TIMEOUT).await;
    if let Some(task) = refresher {
        task.abort();
    }
    if let Some(task) = upkeep {
        task.abort();
    }
    // In-flight requests are done: write the usage records still queued, then close the pool.
    if let Some(s) = storage {
        s.writer.shutdown(USAGE_FLUSH_TIMEOUT).await;
        s.storage.close().await;
    }
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}

//! `gomodel-bedrock-emulator` command line: binds, prints `listening on http://HOST:PORT` as the
//! first stdout line (tests parse it to find a port picked with `--port 0`), and serves until
//! SIGTERM / SIGINT.

use bedrock_emulator::config::split_list;
use bedrock_emulator::EmulatorConfig;
use clap::Parser;
use std::io::Write as _;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight requests (e.g. a slow stream) may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Parser)]
#[command(
    name = "gomodel-bedrock-emulator",
    version,
    about = "A strict Amazon Bedrock stand-in: SigV4 verification, service-model validation, event-stream answers, fault injection"
)]
struct Cli {
    /// Port to listen on; 0 picks a free port.
    #[arg(long, env = "EMULATOR_PORT", default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, env = "EMULATOR_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Accepted signing regions (comma list); overrides EMULATOR_REGIONS.
    #[arg(long = "regions", alias = "region", value_delimiter = ',')]
    regions: Vec<String>,
    /// Benchmark mode: skip request recording (signatures and bodies are still checked). Also
    /// enabled by EMULATOR_FAST=1 (read with the other EMULATOR_* settings, which accept "1").
    #[arg(long)]
    fast: bool,
}

fn main() -> std::process::ExitCode {
    // Logs go to stderr: stdout's first line is the machine-read "listening on" line.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let mut config = match EmulatorConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gomodel-bedrock-emulator: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let regions: Vec<String> = cli.regions.iter().flat_map(|r| split_list(r)).collect();
    if !regions.is_empty() {
        config.regions = regions;
    }
    config.fast |= cli.fast;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gomodel-bedrock-emulator: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config, &cli.host, cli.port)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gomodel-bedrock-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: EmulatorConfig, host: &str, port: u16) -> std::io::Result<()> {
    // Handlers are installed before the "listening on" line: a test may send SIGTERM as soon as
    // it has read that line, and must get a clean exit rather than the default kill.
    let shutdown = shutdown_signal()?;
    let router = bedrock_emulator::router(config).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind((host, port)).await?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(bedrock_emulator::serve(listener, router, async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    }));
    tokio::select! {
        result = &mut server => return result.map_err(std::io::Error::other)?,
        () = shutdown => {}
    }
    let _ = stop_tx.send(true);
    match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
        Ok(result) => result.map_err(std::io::Error::other)?,
        Err(_) => {
            server.abort();
            Ok(())
        }
    }
}

/// A future that resolves on SIGTERM or SIGINT; the handlers are registered when this is called.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

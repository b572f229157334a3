//! `gomodel-bench`: the load generator of the benchmark harness (`bench/run.sh`). It only talks
//! to loopback addresses and every run is bounded by a request count and a deadline.

// Tests may unwrap: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cli;
mod coldstart;
mod conn;
mod eventstream;
mod exchange;
mod load;
mod procfs;
mod relay;
mod sign;
mod sse;
mod stats;
mod target;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gomodel-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Load(args) => {
            let rt = runtime(args.threads)?;
            let result = rt.block_on(load::run(&args))?;
            emit(&result, args.out.as_deref())
        }
        Command::Proc(args) => emit(&procfs::sample_tree(args.pid)?, None),
        Command::ColdStart(args) => {
            let rt = runtime(1)?;
            let result = rt.block_on(coldstart::run(&args))?;
            emit(&result, args.out.as_deref())
        }
        Command::Relay(args) => {
            let threads = args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            // Always the multi-thread runtime, even for one thread: the relay stands in for a
            // gateway, which runs on it.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            rt.block_on(relay::run(&args))
        }
    }
}

/// A current-thread runtime for one thread (no cross-thread wake-ups, the cheapest generator),
/// a multi-thread one otherwise.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    let mut b = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    b.enable_all().build().map_err(|e| format!("runtime: {e}"))
}

fn emit<T: Serialize>(value: &T, out: Option<&Path>) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    match out {
        Some(path) => {
            // Write then rename, so a reader never sees a half-written result.
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, json + "\n")
                .map_err(|e| format!("write {}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, path).map_err(|e| format!("rename to {}: {e}", path.display()))
        }
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

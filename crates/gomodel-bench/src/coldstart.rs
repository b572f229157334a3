//! Cold start: spawn the contender, then time process start → first 200 on its health URL →
//! first successful completion, and sample its RSS right when it became healthy (idle RSS at
//! birth). Each repetition spawns in its own process group and ends that group by its id, so a
//! multi-process peer leaves no workers behind.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde::Serialize;

use crate::cli::ColdStartArgs;
use crate::conn::Conn;
use crate::exchange::exchange;
use crate::procfs::sample_tree;
use crate::target::{is_loopback, Target};

/// Pause between health polls: fine enough for a 50 ms target, coarse enough not to load a core.
const POLL: Duration = Duration::from_millis(2);
/// Time a process gets after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Serialize)]
pub struct ColdRun {
    pub health_ms: Option<f64>,
    pub first_completion_ms: Option<f64>,
    pub rss_at_health_kb: Option<u64>,
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct ColdResult {
    pub contender: String,
    pub command: Vec<String>,
    pub runs: Vec<ColdRun>,
    pub health_ms_median: Option<f64>,
    pub health_ms_min: Option<f64>,
    pub first_completion_ms_median: Option<f64>,
    pub rss_at_health_kb_median: Option<u64>,
}

pub async fn run(args: &ColdStartArgs) -> Result<ColdResult, String> {
    let target = Target::new(&args.target)?;
    let (authority, path) = split_url(&args.health_url)?;
    let max_wait = Duration::from_secs_f64(args.max_wait);
    let mut runs = Vec::new();
    for _ in 0..args.runs.max(1) {
        runs.push(one_run(args, &target, &authority, &path, max_wait).await);
    }
    let mut health: Vec<f64> = runs.iter().filter_map(|r| r.health_ms).collect();
    let mut first: Vec<f64> = runs.iter().filter_map(|r| r.first_completion_ms).collect();
    let mut rss: Vec<u64> = runs.iter().filter_map(|r| r.rss_at_health_kb).collect();
    health.sort_by(f64::total_cmp);
    first.sort_by(f64::total_cmp);
    rss.sort_unstable();
    Ok(ColdResult {
        contender: args.contender.clone(),
        command: args.command.clone(),
        health_ms_median: health.get(health.len() / 2).copied(),
        health_ms_min: health.first().copied(),
        first_completion_ms_median: first.get(first.len() / 2).copied(),
        rss_at_health_kb_median: rss.get(rss.len() / 2).copied(),
        runs,
    })
}

async fn one_run(
    args: &ColdStartArgs,
    target: &Target,
    authority: &str,
    path: &str,
    max_wait: Duration,
) -> ColdRun {
    let mut out = ColdRun {
        health_ms: None,
        first_completion_ms: None,
        rss_at_health_kb: None,
        error: None,
    };
    let start = Instant::now();
    let mut child = match spawn(&args.command) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let deadline = start + max_wait;
    match wait_health(&mut child, authority, path, deadline).await {
        Ok(()) => {
            out.health_ms = Some(start.elapsed().as_secs_f64() * 1e3);
            out.rss_at_health_kb = sample_tree(child.id()).ok().map(|s| s.rss_kb);
            if args.completion {
                match first_completion(target, deadline, &args.target.timeout).await {
                    Ok(()) => out.first_completion_ms = Some(start.elapsed().as_secs_f64() * 1e3),
                    Err(e) => out.error = Some(e),
                }
            }
        }
        Err(e) => out.error = Some(e),
    }
    stop(&mut child).await;
    out
}

fn spawn(command: &[String]) -> Result<Child, String> {
    let (prog, rest) = command
        .split_first()
        .ok_or_else(|| "no command given after --".to_owned())?;
    Command::new(prog)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group, so the whole tree can be ended by this group's id.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("spawn {prog}: {e}"))
}

async fn wait_health(
    child: &mut Child,
    authority: &str,
    path: &str,
    deadline: Instant,
) -> Result<(), String> {
    let mut conn = Conn::new(authority);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("process exited before healthy: {status}"));
        }
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(http::header::HOST, authority)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        if let Ok(resp) = conn.send(req).await {
            let ok = resp.status().is_success();
            // Drain so the connection could be reused; the result does not matter.
            let _ = resp.into_body().collect().await;
            if ok {
                return Ok(());
            }
        } else {
            conn.reset();
        }
        tokio::time::sleep(POLL).await;
    }
    Err("not healthy before --max-wait".into())
}

async fn first_completion(target: &Target, deadline: Instant, timeout: &f64) -> Result<(), String> {
    let mut conn = Conn::new(&target.authority);
    let mut gaps = Vec::new();
    let mut last = String::new();
    while Instant::now() < deadline {
        match exchange(
            &mut conn,
            target,
            Duration::from_secs_f64(*timeout),
            &mut gaps,
        )
        .await
        {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!(
        "no successful completion before --max-wait: {last}"
    ))
}

/// SIGTERM to the group, then SIGKILL if it lingers; always reaps the child.
async fn stop(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; make sure no worker of its group survives it.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

fn split_url(url: &str) -> Result<(String, String), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad url {url}: {e}"))?;
    let host = uri.host().unwrap_or_default();
    if uri.scheme_str() != Some("http") || !is_loopback(host) {
        return Err(format!("health url must be http on loopback: {url}"));
    }
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok((format!("{host}:{port}"), path.to_owned()))
}

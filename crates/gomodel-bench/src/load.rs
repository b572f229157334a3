//! Fixed-concurrency load: `concurrency` workers, each on its own keep-alive connection, run a
//! bounded warm-up (discarded), meet at a barrier, then run the measured phase bounded by a request
//! count and a deadline. `/proc` is sampled around the measured phase only, so CPU per request
//! excludes warm-up and process start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Barrier;

use crate::cli::LoadArgs;
use crate::conn::Conn;
use crate::exchange::record_one;
use crate::procfs::{clk_tck, sample_tree, ProcSample};
use crate::stats::{summarize, Recorder, Summary};
use crate::target::Target;

/// RSS series points kept per process; the sampler thins itself beyond this.
const MAX_SERIES: usize = 4_000;

#[derive(Serialize)]
pub struct LoadResult {
    pub scenario: String,
    pub contender: String,
    pub target: TargetInfo,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
    pub duration_s: f64,
    pub rps: f64,
    pub latency_ms: Option<Summary>,
    pub ttft_ms: Option<Summary>,
    pub gap_ms: Option<Summary>,
    pub content_events_per_request: Option<f64>,
    pub connects: u64,
    pub warmup_requests: u64,
    pub procs: BTreeMap<String, ProcReport>,
}

#[derive(Serialize)]
pub struct TargetInfo {
    pub kind: String,
    pub url: String,
    pub model: String,
    pub stream: bool,
    pub concurrency: usize,
    pub generator_threads: usize,
}

#[derive(Serialize, Clone)]
pub struct ProcReport {
    pub pid: u32,
    pub before: ProcSample,
    pub after: Option<ProcSample>,
    pub cpu_s: Option<f64>,
    pub cpu_s_per_1k: Option<f64>,
    /// Highest summed VmRSS seen by the periodic sampler during the measured phase, KiB.
    pub rss_max_kb: u64,
    pub rss_min_kb: u64,
    /// `[seconds since measured start, KiB]`.
    pub rss_series: Vec<(f64, u64)>,
}

struct Phase {
    counter: AtomicU64,
    total: u64,
    duration: Duration,
}

pub async fn run(args: &LoadArgs) -> Result<LoadResult, String> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let target = Arc::new(Target::new(&args.target)?);
    let pids = parse_pids(&args.pids)?;
    let timeout = Duration::from_secs_f64(args.target.timeout);
    let warm = Arc::new(Phase {
        counter: AtomicU64::new(0),
        total: args
            .warmup_requests
            .unwrap_or((10 * args.concurrency as u64).max(100)),
        duration: Duration::from_secs_f64(args.warmup_duration),
    });
    let measured = Arc::new(Phase {
        counter: AtomicU64::new(0),
        total: args.requests,
        duration: Duration::from_secs_f64(args.duration),
    });
    // Workers plus this task: the first barrier marks the end of warm-up (nothing in flight, so
    // the "before" sample is clean), the second releases the measured phase.
    let barrier = Arc::new(Barrier::new(args.concurrency + 1));

    let mut handles = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (target, warm, measured, barrier) = (
            target.clone(),
            warm.clone(),
            measured.clone(),
            barrier.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut conn = Conn::new(&target.authority);
            let mut gaps = Vec::new();
            let mut discard = Recorder::default();
            run_phase(&warm, &mut conn, &target, timeout, &mut gaps, &mut discard).await;
            barrier.wait().await;
            barrier.wait().await;
            let mut rec = Recorder::default();
            run_phase(&measured, &mut conn, &target, timeout, &mut gaps, &mut rec).await;
            (rec, conn.connects, discard.ok + discard.error_count())
        }));
    }

    barrier.wait().await;
    let before: Vec<(String, ProcSample)> = pids
        .iter()
        .map(|(label, pid)| sample_tree(*pid).map(|s| (label.clone(), s)))
        .collect::<Result<_, _>>()?;
    barrier.wait().await;
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // A plain thread, not a task: walking /proc must not stall the load generator's runtime.
    let sampler = {
        let (pids, stop) = (pids.clone(), stop.clone());
        let interval = Duration::from_millis(args.sample_interval_ms.max(10));
        std::thread::spawn(move || sample_rss(pids, start, interval, stop))
    };

    let mut rec = Recorder::default();
    let mut connects = 0;
    let mut warmup_done = 0;
    for h in handles {
        let (r, c, w) = h.await.map_err(|e| format!("worker failed: {e}"))?;
        rec.merge(r);
        connects += c;
        warmup_done += w;
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let series = sampler
        .join()
        .map_err(|_| "rss sampler thread panicked".to_owned())?;

    let tck = clk_tck() as f64;
    let mut procs = BTreeMap::new();
    for (label, b) in before {
        let after = sample_tree(b.pid).ok();
        let cpu_s = after
            .as_ref()
            .map(|a| a.cpu_ticks.saturating_sub(b.cpu_ticks) as f64 / tck);
        let s = series.get(&label).cloned().unwrap_or_default();
        let rss_max = s.iter().map(|p| p.1).max().unwrap_or(b.rss_kb);
        let rss_min = s.iter().map(|p| p.1).min().unwrap_or(b.rss_kb);
        procs.insert(
            label,
            ProcReport {
                pid: b.pid,
                cpu_s_per_1k: cpu_s
                    .filter(|_| rec.ok > 0)
                    .map(|c| c * 1000.0 / rec.ok as f64),
                cpu_s,
                rss_max_kb: rss_max,
                rss_min_kb: rss_min,
                rss_series: s,
                before: b,
                after,
            },
        );
    }

    let secs = elapsed.as_secs_f64();
    Ok(LoadResult {
        scenario: args.scenario.clone(),
        contender: args.contender.clone(),
        target: TargetInfo {
            kind: format!("{:?}", args.target.target),
            url: args.target.url.clone(),
            model: args.target.model.clone(),
            stream: args.target.stream,
            concurrency: args.concurrency,
            generator_threads: args.threads,
        },
        requests: rec.ok + rec.error_count(),
        ok: rec.ok,
        errors: rec.error_count(),
        error_kinds: rec.errors.clone(),
        error_samples: rec.error_samples.clone(),
        duration_s: secs,
        rps: if secs > 0.0 {
            rec.ok as f64 / secs
        } else {
            0.0
        },
        latency_ms: summarize(&rec.latency),
        ttft_ms: summarize(&rec.ttft),
        gap_ms: summarize(&rec.gap),
        content_events_per_request: (rec.ok > 0 && rec.content_events > 0)
            .then(|| rec.content_events as f64 / rec.ok as f64),
        connects,
        warmup_requests: warmup_done,
        procs,
    })
}

/// Claims tickets until the phase's count or deadline is reached.
async fn run_phase(
    phase: &Phase,
    conn: &mut Conn,
    target: &Target,
    timeout: Duration,
    gaps: &mut Vec<u64>,
    rec: &mut Recorder,
) {
    let deadline = Instant::now() + phase.duration;
    while Instant::now() < deadline && phase.counter.fetch_add(1, Ordering::Relaxed) < phase.total {
        record_one(conn, target, timeout, gaps, rec).await;
    }
}

fn parse_pids(raw: &[String]) -> Result<Vec<(String, u32)>, String> {
    raw.iter()
        .map(|r| {
            let (label, pid) = r.split_once('=').unwrap_or(("process", r.as_str()));
            pid.trim()
                .parse::<u32>()
                .map(|p| (label.trim().to_owned(), p))
                .map_err(|e| format!("--pid {r:?}: {e}"))
        })
        .collect()
}

type Series = BTreeMap<String, Vec<(f64, u64)>>;

/// Samples summed RSS per labelled tree until `stop`; thins the series by half when it is full so
/// memory stays bounded however long the soak.
fn sample_rss(
    pids: Vec<(String, u32)>,
    start: Instant,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> Series {
    let mut series: Series = BTreeMap::new();
    loop {
        let t = start.elapsed().as_secs_f64();
        for (label, pid) in &pids {
            if let Ok(s) = sample_tree(*pid) {
                let v = series.entry(label.clone()).or_default();
                v.push((t, s.rss_kb));
                if v.len() >= MAX_SERIES {
                    *v = v.iter().step_by(2).copied().collect();
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return series;
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_labels() {
        let p = parse_pids(&["gw=12".into(), "7".into()]).unwrap();
        assert_eq!(p, vec![("gw".into(), 12), ("process".into(), 7)]);
        assert!(parse_pids(&["x=y".into()]).is_err());
    }
}

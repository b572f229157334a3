//! `/proc` sampling of a process *tree*: LiteLLM with `--num_workers 2` is a supervisor plus
//! worker processes, so memory and CPU are summed over the root and all its descendants to compare
//! contenders fairly.

use std::collections::HashMap;
use std::fs;

use serde::Serialize;

#[derive(Serialize, Debug, Clone, Default)]
pub struct ProcSample {
    pub pid: u32,
    /// Processes in the tree at sampling time.
    pub processes: usize,
    /// Sum of VmRSS over the tree, KiB.
    pub rss_kb: u64,
    /// Sum of VmHWM (peak RSS) over the tree, KiB.
    pub hwm_kb: u64,
    /// Sum of RssAnon over the tree, KiB: the private heap and stacks. The rest of RSS is
    /// mostly clean, shared pages of the executable and libraries (`RssFile`).
    pub anon_kb: u64,
    /// Sum of utime + stime over the tree, clock ticks.
    pub cpu_ticks: u64,
}

pub fn sample_tree(root: u32) -> Result<ProcSample, String> {
    let mut out = ProcSample {
        pid: root,
        ..Default::default()
    };
    let root_stat = fs::read_to_string(format!("/proc/{root}/stat"))
        .map_err(|e| format!("process {root} not readable: {e}"))?;
    let mut pids = vec![root];
    pids.extend(descendants(root));
    for (i, pid) in pids.iter().enumerate() {
        // The root was read above; a child may exit between listing and reading: skip it.
        let stat = if i == 0 {
            Some(root_stat.clone())
        } else {
            fs::read_to_string(format!("/proc/{pid}/stat")).ok()
        };
        let Some(stat) = stat else { continue };
        let Some(fields) = stat_fields(&stat) else {
            continue;
        };
        out.cpu_ticks += field_u64(&fields, 11) + field_u64(&fields, 12);
        if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
            out.rss_kb += status_kb(&status, "VmRSS:");
            out.hwm_kb += status_kb(&status, "VmHWM:");
            out.anon_kb += status_kb(&status, "RssAnon:");
        }
        out.processes += 1;
    }
    Ok(out)
}

/// Fields after `comm`, which may itself contain spaces and parentheses: index 0 is `state`,
/// 1 is `ppid`, 11 `utime`, 12 `stime` (proc(5) fields 3, 4, 14, 15).
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().collect())
}

fn field_u64(fields: &[&str], i: usize) -> u64 {
    fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn status_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if let Some(ppid) =
                stat_fields(&stat).and_then(|f| f.get(1).and_then(|p| p.parse::<u32>().ok()))
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    // Bounded walk: a pid tree cannot hold more entries than /proc listed.
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                if k != root && !out.contains(&k) {
                    out.push(k);
                    stack.push(k);
                }
            }
        }
    }
    out
}

/// Clock ticks per second for `/proc/PID/stat` CPU fields (USER_HZ). Asked of `getconf` rather
/// than libc because the workspace forbids unsafe code; 100 is Linux's value on every common arch.
pub fn clk_tck() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&v: &u64| v > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_self() {
        let s = sample_tree(std::process::id()).unwrap();
        assert!(s.rss_kb > 0);
        assert!(s.hwm_kb >= s.rss_kb);
        assert!(s.processes >= 1);
    }

    #[test]
    fn parses_comm_with_spaces() {
        let stat = "42 (a (b) c) S 7 1 1 0 -1 0 0 0 0 0 13 5 0 0";
        let f = stat_fields(stat).unwrap();
        assert_eq!(f[1], "7");
        assert_eq!(field_u64(&f, 11), 13);
        assert_eq!(field_u64(&f, 12), 5);
    }

    #[test]
    fn missing_process_is_an_error() {
        assert!(sample_tree(u32::MAX - 1).is_err());
    }
}

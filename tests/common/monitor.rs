//! Watches whichever collector is up every 500 ms: its resident memory (`VmRSS` in
//! `/proc/PID/status`) and whether `/healthz` answers 200.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::target::Target;

/// What the monitor saw.
#[derive(Debug, Default)]
pub struct Samples {
    /// Resident memory in KiB, with the time since the start and the process id.
    pub rss_kib: Vec<(Duration, u32, u64)>,
    /// `/healthz` answered 200.
    pub healthy: usize,
    /// Samples taken while no process was up, or whose process went down meanwhile.
    pub while_down: usize,
    /// `/healthz` failures of a process that was up throughout the sample.
    pub failures: Vec<String>,
}

impl Samples {
    /// The largest RSS sampled in `[from, to)`, in KiB.
    pub fn peak_rss_kib(&self, from: Duration, to: Duration) -> u64 {
        self.rss_kib
            .iter()
            .filter(|(at, _, _)| *at >= from && *at < to)
            .map(|(_, _, kib)| *kib)
            .max()
            .unwrap_or(0)
    }

    /// The process sampled most often, with the peak RSS (KiB) of the first and of the last
    /// third of its samples.
    pub fn longest_lived(&self) -> (u32, u64, u64) {
        let mut counts = std::collections::BTreeMap::<u32, usize>::new();
        for (_, pid, _) in &self.rss_kib {
            *counts.entry(*pid).or_default() += 1;
        }
        let Some((pid, _)) = counts.into_iter().max_by_key(|(_, n)| *n) else {
            return (0, 0, 0);
        };
        let own: Vec<u64> = self
            .rss_kib
            .iter()
            .filter(|(_, p, _)| *p == pid)
            .map(|(_, _, kib)| *kib)
            .collect();
        let third = own.len() / 3;
        let peak = |part: &[u64]| part.iter().copied().max().unwrap_or(0);
        (pid, peak(&own[..third]), peak(&own[own.len() - third..]))
    }
}

/// Samples every 500 ms until `stop` is set; times count from `started`.
pub async fn watch(target: Arc<Target>, stop: Arc<AtomicBool>, started: Instant) -> Samples {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let mut samples = Samples::default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let Some(up) = target.current() else {
            samples.while_down += 1;
            continue;
        };
        if let Some(kib) = rss_kib(up.pid) {
            samples.rss_kib.push((started.elapsed(), up.pid, kib));
        }
        let health = match http.get(format!("{}/healthz", up.url)).send().await {
            Ok(response) if response.status() == 200 => Ok(()),
            Ok(response) => Err(format!("status {}", response.status())),
            Err(err) => Err(err.to_string()),
        };
        match health {
            Ok(()) => samples.healthy += 1,
            Err(_) if !target.still(&up) => samples.while_down += 1,
            Err(problem) => samples.failures.push(format!(
                "{:.1} s: pid {}: {problem}",
                started.elapsed().as_secs_f64(),
                up.pid
            )),
        }
    }
    samples
}

/// `VmRSS` of `pid` in KiB, if the process is there.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

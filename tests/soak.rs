//! A soak that tries every fault at once (issue 26.6). The real `heatpipe collect` binary, its
//! log on a real 1 MiB `tmpfs` mounted by the test (it needs root, as CI runs) and its store a
//! real S3-compatible server on 127.0.0.1, takes steady load from four clients mixed with
//! hostile requests for `HEATPIPE_SOAK_SECONDS` (90 by default). Meanwhile it is killed with
//! SIGKILL twice (and started again at once on the same log), the S3 server stops for a few
//! seconds once, and once the store stays down until the log disk is full and batches get 507.
//! At the end the store is up, the collector stops gracefully and the day is processed: every
//! acknowledged batch is counted exactly once and no refused one, every hostile request got its
//! 4xx JSON error, `/healthz` answered throughout except while the process was down, and memory
//! did not keep growing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::hostile::{self, HostileLog};
use common::load::{self, CLICKS_PER_BATCH, Ledger};
use common::monitor::{self, Samples};
use common::rig::Rig;
use common::stored::stored_clicks;
use heatpipe_io::store::ObjectStore;

const SITE: &str = "soak";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const BUCKET: &str = "heatpipe";
const PREFIX: &str = "soak";
const LOG_DISK: &str = "1m";
const CLIENTS: usize = 4;
/// Allowed growth of the peak RSS from the first third of the run to the last.
const RSS_FACTOR: f64 = 1.5;
const RSS_SLACK_MIB: u64 = 16;

/// Seconds of load: `HEATPIPE_SOAK_SECONDS`, else 90 (at least 20, so each fault has room).
fn soak_seconds() -> u64 {
    std::env::var("HEATPIPE_SOAK_SECONDS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("HEATPIPE_SOAK_SECONDS is a number of seconds")
        })
        .unwrap_or(90)
        .max(20)
}

async fn sleep_until(started: Instant, at: Duration) {
    tokio::time::sleep_until((started + at).into()).await;
}

/// Waits until `done` holds of the ledger, checking every 50 ms, for at most `limit`.
async fn wait_for(ledger: &Mutex<Ledger>, limit: Duration, done: impl Fn(&Ledger) -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done(&ledger.lock().expect("lock")) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_loses_nothing_when_every_fault_comes_at_once() {
    let seconds = soak_seconds();
    let mut rig = Rig::new(LOG_DISK, BUCKET, PREFIX).await;
    let (ledger, hostiles) = (
        Arc::new(Mutex::new(Ledger::default())),
        Arc::new(Mutex::new(HostileLog::default())),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let client = load::Client {
                name: format!("c{n}"),
                site: SITE,
                started_at: T0,
                pause: Duration::from_millis(2),
            };
            tokio::spawn(client.run(rig.target.clone(), ledger.clone(), stop.clone()))
        })
        .collect();
    let hostile_requests = hostile::requests(&load::batch(SITE, "hostile-1", T0));
    let hostile_kinds = hostile_requests.len();
    let hostile = tokio::spawn(hostile::run(
        hostile_requests,
        rig.target.clone(),
        hostiles.clone(),
        stop.clone(),
    ));
    let watcher = tokio::spawn(monitor::watch(rig.target.clone(), stop.clone(), started));
    let at = |fraction: f64| Duration::from_secs_f64(seconds as f64 * fraction);

    sleep_until(started, at(0.15)).await;
    rig.kill_and_restart().await;

    sleep_until(started, at(0.30)).await;
    let acknowledged_before = ledger.lock().expect("lock").acknowledged.len();
    rig.s3.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let acknowledged_in_outage =
        ledger.lock().expect("lock").acknowledged.len() - acknowledged_before;
    rig.s3.restart().await.expect("s3 back");

    // The store stays down until the log disk is full, then comes back.
    sleep_until(started, at(0.45)).await;
    let full_before = ledger.lock().expect("lock").num_refused(507);
    rig.s3.stop();
    let filled = wait_for(&ledger, Duration::from_secs(60), |l| {
        l.num_refused(507) >= full_before + 20
    })
    .await;
    rig.s3.restart().await.expect("s3 back");
    assert!(
        filled,
        "a {LOG_DISK} log disk never filled with the store down"
    );
    let acknowledged_when_full = ledger.lock().expect("lock").acknowledged.len();
    let accepting_again = wait_for(&ledger, Duration::from_secs(60), |l| {
        l.acknowledged.len() >= acknowledged_when_full + 50
    })
    .await;
    assert!(
        accepting_again,
        "the collector did not accept again once the store was back"
    );

    sleep_until(started, at(0.75)).await;
    rig.kill_and_restart().await;

    sleep_until(started, at(1.0)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("load client");
    }
    hostile.await.expect("hostile client");
    let samples = watcher.await.expect("monitor");
    let load_time = started.elapsed();

    // Drain: the store is up, a graceful stop uploads what the log holds.
    rig.stop().await;
    assert_eq!(
        rig.segments_in_log(),
        0,
        "the graceful stop left segments in the log"
    );
    let store: Arc<dyn ObjectStore> = Arc::new(rig.s3.store(BUCKET, PREFIX));
    let stored = stored_clicks(store, SITE, DATE).await;

    let run = Run {
        ledger: take(&ledger),
        hostiles: take(&hostiles),
        hostile_kinds,
        samples,
        stored,
        seconds,
        load_time,
        acknowledged_in_outage,
    };
    run.report(&rig);
    run.check(&rig);
}

/// Takes what a client task left behind.
fn take<T: Default>(shared: &Mutex<T>) -> T {
    std::mem::take(&mut *shared.lock().expect("lock"))
}

/// What the run ended with.
struct Run {
    ledger: Ledger,
    hostiles: HostileLog,
    hostile_kinds: usize,
    samples: Samples,
    stored: BTreeMap<String, u64>,
    seconds: u64,
    load_time: Duration,
    acknowledged_in_outage: usize,
}

impl Run {
    fn lost(&self) -> Vec<&String> {
        let acknowledged = self.ledger.acknowledged.iter();
        acknowledged
            .filter(|s| !self.stored.contains_key(*s))
            .collect()
    }

    /// Peak RSS in KiB of the first and of the last third of the load.
    fn rss_thirds(&self) -> (u64, u64) {
        let third = Duration::from_secs(self.seconds) / 3;
        (
            self.samples.peak_rss_kib(Duration::ZERO, third),
            self.samples.peak_rss_kib(third * 2, Duration::MAX),
        )
    }

    /// Prints the figures of the run.
    fn report(&self, rig: &Rig) {
        let (ledger, samples) = (&self.ledger, &self.samples);
        let (first, last) = self.rss_thirds();
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "soak: {:.1} s of load; {} kills, {:.2} s down in all, batches in the log after \
             each kill {:?}",
            self.load_time.as_secs_f64(),
            rig.starts - 1,
            rig.down_for.as_secs_f64(),
            rig.logged_at_kills
        );
        println!(
            "  batches acknowledged {} ({} during the 3 s S3 stop), stored sessions {}, lost {}",
            ledger.acknowledged.len(),
            self.acknowledged_in_outage,
            self.stored.len(),
            self.lost().len()
        );
        for ((status, reason), n) in &ledger.reasons {
            println!("  refused {status} ({reason}): {n}");
        }
        let unanswered_stored = ledger
            .unanswered
            .iter()
            .filter(|s| self.stored.contains_key(*s));
        println!(
            "  unanswered (in flight at a kill) {}, of them stored {}",
            ledger.unanswered.len(),
            unanswered_stored.count()
        );
        println!(
            "  hostile requests {} (status: count; 0 = no answer, at a kill):",
            self.hostiles.sent
        );
        for (name, statuses) in &self.hostiles.statuses {
            println!("    {name}: {statuses:?}");
        }
        println!(
            "  RSS peak {:.1} MiB, first third {:.1} MiB, last third {:.1} MiB",
            mib(samples.peak_rss_kib(Duration::ZERO, Duration::MAX)),
            mib(first),
            mib(last)
        );
        let (pid, own_first, own_last) = samples.longest_lived();
        println!(
            "  longest-lived process (pid {pid}): RSS peak of its first third {:.1} MiB, of its \
             last third {:.1} MiB",
            mib(own_first),
            mib(own_last)
        );
        println!(
            "  healthz: {} answered, {} while down, {} failures outside the down windows",
            samples.healthy,
            samples.while_down,
            samples.failures.len()
        );
    }

    /// The promises: exactly once, 4xx for hostile requests, healthz while up, bounded memory.
    fn check(&self, rig: &Rig) {
        let (ledger, hostiles, samples) = (&self.ledger, &self.hostiles, &self.samples);
        let first_ten = |list: &[String]| list[..list.len().min(10)].to_vec();
        assert!(
            ledger.unexpected.is_empty(),
            "valid batches answered otherwise than 200/503/507: {:?}\n{}",
            first_ten(&ledger.unexpected),
            rig.collector_logs()
        );
        assert!(
            hostiles.unexpected.is_empty(),
            "hostile requests: {:?}",
            first_ten(&hostiles.unexpected)
        );
        assert!(
            samples.failures.is_empty(),
            "/healthz failed while the process was up: {:?}\n{}",
            samples.failures,
            rig.collector_logs()
        );
        let lost = self.lost();
        assert!(
            lost.is_empty(),
            "{} acknowledged batches lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        let refused: BTreeSet<&String> = ledger.refused.values().flatten().collect();
        let stored_refused: Vec<_> = refused
            .iter()
            .filter(|s| self.stored.contains_key(**s))
            .collect();
        assert!(
            stored_refused.is_empty(),
            "refused batches stored: {stored_refused:?}"
        );
        let strangers: Vec<_> = self
            .stored
            .keys()
            .filter(|s| !ledger.acknowledged.contains(*s) && !ledger.unanswered.contains(*s))
            .collect();
        assert!(
            strangers.is_empty(),
            "stored but neither acknowledged nor in flight at a kill: {strangers:?}"
        );
        let not_once: Vec<_> = self
            .stored
            .iter()
            .filter(|(_, n)| **n != CLICKS_PER_BATCH)
            .collect();
        assert!(
            not_once.is_empty(),
            "counted other than once ({CLICKS_PER_BATCH} clicks): {not_once:?}"
        );

        // Each fault really happened.
        assert!(
            rig.logged_at_kills.iter().all(|n| *n > 0),
            "a kill found nothing in the log: {:?}",
            rig.logged_at_kills
        );
        assert!(
            self.acknowledged_in_outage > 0,
            "no batch was acknowledged while S3 was stopped"
        );
        assert!(
            ledger.num_refused(507) >= 20,
            "the full disk gave {} 507s",
            ledger.num_refused(507)
        );
        assert!(
            ledger.acknowledged.len() >= 1000,
            "only {} batches acknowledged",
            ledger.acknowledged.len()
        );
        assert_eq!(
            hostiles.statuses.len(),
            self.hostile_kinds,
            "every hostile request was sent"
        );
        assert!(
            hostiles.sent >= 10 * self.hostile_kinds,
            "{} hostile requests",
            hostiles.sent
        );
        assert!(
            samples.healthy as u64 >= self.seconds,
            "healthz sampled {} times",
            samples.healthy
        );

        let (_, own_first, own_last) = samples.longest_lived();
        let own_bound = (own_first as f64 * RSS_FACTOR) as u64 + RSS_SLACK_MIB * 1024;
        assert!(
            own_first > 0 && own_last <= own_bound,
            "RSS of the longest-lived process grew without bound: peak of its last third \
             {own_last} KiB > {RSS_FACTOR} x its first third's peak {own_first} KiB + \
             {RSS_SLACK_MIB} MiB"
        );
        let (first, last) = self.rss_thirds();
        let bound = (first as f64 * RSS_FACTOR) as u64 + RSS_SLACK_MIB * 1024;
        assert!(
            first > 0 && last > 0,
            "RSS sampled in both thirds: {first} KiB, {last} KiB"
        );
        assert!(
            last <= bound,
            "RSS grew without bound: peak of the last third {last} KiB > {RSS_FACTOR} x the \
             first third's peak {first} KiB + {RSS_SLACK_MIB} MiB"
        );
    }
}

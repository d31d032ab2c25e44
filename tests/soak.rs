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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::collector_process::CollectorProcess;
use common::hostile::{self, HostileLog};
use common::load::{self, CLICKS_PER_BATCH, Ledger};
use common::monitor::{self, Samples};
use common::stored::stored_clicks;
use common::target::Target;
use common::tmpfs::Tmpfs;
use heatpipe_fixtures::s3_server::S3TestServer;
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

/// The collector's processes, their log and their store.
struct Rig {
    folder: tempfile::TempDir,
    log_disk: Tmpfs,
    s3: S3TestServer,
    target: Arc<Target>,
    collector: Option<CollectorProcess>,
    starts: usize,
    down_for: Duration,
}

impl Rig {
    async fn new() -> Rig {
        let folder = tempfile::tempdir().expect("tempdir");
        let log_disk = Tmpfs::mount(&folder.path().join("wal"), LOG_DISK);
        let s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
            .await
            .expect("s3 server");
        let config = format!(
            "store = \"s3://{BUCKET}/{PREFIX}\"\n[collector]\nwal_dir = {:?}\nseal_age_ms = 100\n\
             seal_size_bytes = 65536\nmax_pending_bytes = 1073741824\n\
             shutdown_timeout_ms = 60000\nrate_limit_per_s = 0\n",
            log_disk.path.display().to_string()
        );
        std::fs::write(folder.path().join("heatpipe.toml"), config).expect("config");
        let mut rig = Rig {
            folder,
            log_disk,
            s3,
            target: Arc::new(Target::default()),
            collector: None,
            starts: 0,
            down_for: Duration::ZERO,
        };
        rig.start().await;
        rig
    }

    /// Starts a collector process (off the runtime: it waits for the address line).
    async fn start(&mut self) {
        let settings = self.s3.settings();
        let envs = vec![
            ("AWS_ENDPOINT_URL", settings.endpoint_url.expect("endpoint")),
            ("AWS_REGION", settings.region),
            ("AWS_ACCESS_KEY_ID", settings.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", settings.secret_access_key),
            ("RUST_LOG", "warn".to_owned()),
        ];
        self.starts += 1;
        let config = self.folder.path().join("heatpipe.toml");
        let log = self
            .folder
            .path()
            .join(format!("collector-{}.log", self.starts));
        let collector = tokio::task::spawn_blocking(move || {
            CollectorProcess::start(&config, &envs, Some(&log))
        })
        .await
        .expect("join");
        self.target.up(&collector.url, collector.pid());
        self.collector = Some(collector);
    }

    /// SIGKILL, and a new process at once on the same log.
    async fn kill_and_restart(&mut self) {
        let down = Instant::now();
        self.target.down();
        let collector = self.collector.take().expect("running");
        tokio::task::spawn_blocking(move || collector.kill())
            .await
            .expect("join");
        self.start().await;
        self.down_for += down.elapsed();
    }

    /// SIGTERM, which uploads what the log holds before exiting.
    async fn stop(&mut self) {
        self.target.down();
        let collector = self.collector.take().expect("running");
        let status = tokio::task::spawn_blocking(move || collector.terminate())
            .await
            .expect("join");
        assert!(status.success(), "graceful stop exits 0: {status}");
    }

    /// Segments left in the log, of every collector id.
    fn segments_in_log(&self) -> usize {
        heatpipe_collector::wal::existing_segments(&self.log_disk.path)
            .expect("log folder")
            .len()
    }

    fn collector_logs(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                let path = self.folder.path().join(format!("collector-{n}.log"));
                std::fs::read_to_string(path).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
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
    let mut rig = Rig::new().await;
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
    rig.s3.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
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

    let ledger = ledger.lock().expect("lock");
    let hostiles = hostiles.lock().expect("lock");
    report(&ledger, &hostiles, &samples, &stored, &rig, load_time);
    check(&ledger, &hostiles, &samples, &stored, seconds, &rig);
}

/// Prints the figures of the run.
fn report(
    ledger: &Ledger,
    hostiles: &HostileLog,
    samples: &Samples,
    stored: &std::collections::BTreeMap<String, u64>,
    rig: &Rig,
    load_time: Duration,
) {
    let lost = ledger
        .acknowledged
        .iter()
        .filter(|s| !stored.contains_key(*s))
        .count();
    let peak = samples.peak_rss_kib(Duration::ZERO, Duration::MAX);
    println!(
        "soak: {:.1} s of load, {} collector processes, 2 kills ({:.2} s down)",
        load_time.as_secs_f64(),
        rig.starts,
        rig.down_for.as_secs_f64()
    );
    println!(
        "  batches acknowledged {}, stored sessions {}, lost {lost}",
        ledger.acknowledged.len(),
        stored.len()
    );
    for ((status, reason), n) in &ledger.reasons {
        println!("  refused {status} ({reason}): {n}");
    }
    println!(
        "  unanswered (in flight at a kill) {}, of which stored {}",
        ledger.unanswered.len(),
        ledger
            .unanswered
            .iter()
            .filter(|s| stored.contains_key(*s))
            .count()
    );
    println!("  hostile requests {}:", hostiles.sent);
    for (name, statuses) in &hostiles.statuses {
        println!("    {name}: {statuses:?}");
    }
    println!(
        "  peak RSS {:.1} MiB; healthz ok {}, while down {}, failures while up {}",
        peak as f64 / 1024.0,
        samples.healthy,
        samples.while_down,
        samples.failures.len()
    );
}

/// The promises: exactly once, 4xx for hostile requests, healthz while up, bounded memory.
fn check(
    ledger: &Ledger,
    hostiles: &HostileLog,
    samples: &Samples,
    stored: &std::collections::BTreeMap<String, u64>,
    seconds: u64,
    rig: &Rig,
) {
    let logs = || rig.collector_logs();
    assert!(
        ledger.unexpected.is_empty(),
        "valid batches answered otherwise than 200/503/507: {:?}\n{}",
        &ledger.unexpected[..ledger.unexpected.len().min(10)],
        logs()
    );
    assert!(
        hostiles.unexpected.is_empty(),
        "hostile requests: {:?}",
        &hostiles.unexpected[..hostiles.unexpected.len().min(10)]
    );
    assert!(
        samples.failures.is_empty(),
        "/healthz failed while the process was up: {:?}\n{}",
        samples.failures,
        logs()
    );
    let lost: Vec<&String> = ledger
        .acknowledged
        .iter()
        .filter(|s| !stored.contains_key(*s))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged batches lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let refused: BTreeSet<&String> = ledger.refused.values().flatten().collect();
    let stored_refused: Vec<_> = refused
        .iter()
        .filter(|s| stored.contains_key(**s))
        .collect();
    assert!(
        stored_refused.is_empty(),
        "refused batches stored: {stored_refused:?}"
    );
    let strangers: Vec<_> = stored
        .keys()
        .filter(|s| !ledger.acknowledged.contains(*s) && !ledger.unanswered.contains(*s))
        .collect();
    assert!(
        strangers.is_empty(),
        "stored but never acknowledged nor in flight: {strangers:?}"
    );
    let not_once: Vec<_> = stored
        .iter()
        .filter(|(_, n)| **n != CLICKS_PER_BATCH)
        .collect();
    assert!(
        not_once.is_empty(),
        "counted other than once ({CLICKS_PER_BATCH} clicks): {not_once:?}"
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
    assert!(
        hostiles.sent >= 10 * hostiles.statuses.len(),
        "{} hostile requests",
        hostiles.sent
    );

    let third = Duration::from_secs(seconds) / 3;
    let first = samples.peak_rss_kib(Duration::ZERO, third);
    let last = samples.peak_rss_kib(third * 2, Duration::MAX);
    let bound = (first as f64 * RSS_FACTOR) as u64 + RSS_SLACK_MIB * 1024;
    assert!(
        first > 0 && last > 0,
        "RSS was sampled in both thirds: {first} KiB, {last} KiB"
    );
    assert!(
        last <= bound,
        "RSS grew: peak of the last third {last} KiB > {RSS_FACTOR} x the first third's {first} KiB + {RSS_SLACK_MIB} MiB"
    );
}

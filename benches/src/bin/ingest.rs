//! Ingest throughput with durable acknowledgements: a collector on 127.0.0.1 (write-ahead log
//! with fsync, local store) and a load generator in the same process, posting native batches of
//! about 100 events over keep-alive connections. Prints events/s acknowledged at full load, then
//! p50/p99 latency at half that rate (open loop).
//!
//! `cargo run --release -p heatpipe-benches --bin ingest [SECONDS] [CONNECTIONS]`

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use heatpipe_benches::bench_traffic;
use heatpipe_collector::{Collector, CollectorConfig};
use heatpipe_core::event::Stream;
use heatpipe_core::wire::NativeBatch;
use heatpipe_io::store::LocalStore;

/// Batches of about this many events, like a busy page's tracker flush.
const EVENTS_PER_BATCH: usize = 100;

/// Joins each page view's fixture batches (consecutive in time) and cuts its pointer moves into
/// batches of exactly [`EVENTS_PER_BATCH`] events, as JSON bodies.
fn batch_bodies() -> Vec<(Bytes, u64)> {
    let mut page_views: std::collections::BTreeMap<(String, u32), Stream> =
        std::collections::BTreeMap::new();
    for stream in bench_traffic(20_000) {
        let key = (stream.session_id.clone(), stream.page_view_index);
        match page_views.get_mut(&key) {
            Some(joined) => joined.moves.extend(stream.moves),
            None => {
                page_views.insert(key, stream);
            }
        }
    }
    let mut bodies = Vec::new();
    for (index, page_view) in page_views.into_values().enumerate() {
        for (part, moves) in page_view.moves.chunks_exact(EVENTS_PER_BATCH).enumerate() {
            let batch = Stream {
                batch_seq: (index * 1000 + part) as u64,
                moves: moves.to_vec(),
                clicks: vec![],
                scrolls: vec![],
                resizes: vec![],
                ..page_view.clone()
            };
            let body =
                serde_json::to_vec(&NativeBatch::from_stream("bench", &batch)).expect("json");
            bodies.push((Bytes::from(body), EVENTS_PER_BATCH as u64));
        }
    }
    bodies
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

struct Run {
    events: u64,
    batches: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// What the clients of one run share: what to post where, and what they counted.
struct Load {
    client: reqwest::Client,
    url: String,
    bodies: Arc<Vec<(Bytes, u64)>>,
    events: AtomicU64,
    batches: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    stop: AtomicBool,
}

/// Posts for `duration` from `connections` clients; `interval` per client paces an open loop.
async fn run(
    url: &str,
    bodies: Arc<Vec<(Bytes, u64)>>,
    connections: usize,
    duration: Duration,
    interval: Option<Duration>,
) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let load = Arc::new(Load {
        client,
        url: format!("{url}/v1/collect"),
        bodies,
        events: AtomicU64::new(0),
        batches: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            tokio::spawn(post_until_stopped(
                load.clone(),
                worker,
                connections,
                interval,
            ))
        })
        .collect();
    tokio::time::sleep(duration).await;
    load.stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = std::mem::take(&mut *load.latencies.lock().expect("lock"));
    latencies.sort();
    Run {
        events: load.events.load(Ordering::Relaxed),
        batches: load.batches.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}

/// One client: posts every `connections`-th body from body `worker` on, one at a time (every
/// `interval` when given), counting what was acknowledged, until the run stops.
async fn post_until_stopped(
    load: Arc<Load>,
    worker: usize,
    connections: usize,
    interval: Option<Duration>,
) {
    let mut local = Vec::new();
    let mut next = Instant::now();
    let mut i = worker;
    while !load.stop.load(Ordering::Relaxed) {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let (body, count) = &load.bodies[i % load.bodies.len()];
        i += connections;
        let sent = Instant::now();
        let response = load
            .client
            .post(&load.url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        if matches!(&response, Ok(r) if r.status() == 200) {
            local.push(sent.elapsed());
            load.events.fetch_add(*count, Ordering::Relaxed);
            load.batches.fetch_add(1, Ordering::Relaxed);
        }
    }
    load.latencies.lock().expect("lock").extend(local);
}

/// A collector on 127.0.0.1 with its log and a local store in `folder`, rate limit off.
struct RunningCollector {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    /// Kept until the server has shut down.
    _collector: Arc<Collector>,
}

impl RunningCollector {
    async fn start(folder: &Path) -> anyhow::Result<Self> {
        let store = Arc::new(LocalStore::open(folder.join("store"))?);
        let config = CollectorConfig {
            wal_dir: Some(folder.join("wal")),
            rate_limit_per_s: 0,
            ..CollectorConfig::default()
        };
        let collector = Collector::open(store, config)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(heatpipe_collector::serve(
            collector.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(RunningCollector {
            url,
            stop,
            server,
            _collector: collector,
        })
    }

    /// Stops the server and waits until it has finished.
    async fn shut_down(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10);
    let connections: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(32);
    let folder = tempfile::tempdir()?;
    let collector = RunningCollector::start(folder.path()).await?;
    let url = collector.url.clone();
    let bodies = Arc::new(batch_bodies());
    let mean_events = bodies.iter().map(|(_, n)| *n).sum::<u64>() as f64 / bodies.len() as f64;
    println!(
        "{} distinct batches, {mean_events:.0} events each on average; {connections} connections; {} cores",
        bodies.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let full = run(
        &url,
        bodies.clone(),
        connections,
        Duration::from_secs(seconds),
        None,
    )
    .await;
    let rate = full.events as f64 / full.elapsed.as_secs_f64();
    println!(
        "full load:  {rate:>10.0} events/s acknowledged durably ({:.0} batches/s), p50 {:.2} ms, p99 {:.2} ms",
        full.batches as f64 / full.elapsed.as_secs_f64(),
        percentile(&full.latencies, 0.5),
        percentile(&full.latencies, 0.99)
    );
    let per_connection = Duration::from_secs_f64(connections as f64 * mean_events / (rate / 2.0));
    let half = run(
        &url,
        bodies,
        connections,
        Duration::from_secs(seconds),
        Some(per_connection),
    )
    .await;
    println!(
        "half load:  {:>10.0} events/s offered and acknowledged, p50 {:.2} ms, p99 {:.2} ms",
        half.events as f64 / half.elapsed.as_secs_f64(),
        percentile(&half.latencies, 0.5),
        percentile(&half.latencies, 0.99)
    );
    collector.shut_down().await;
    Ok(())
}

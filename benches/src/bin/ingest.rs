//! Ingest throughput with durable acknowledgements: a collector on 127.0.0.1 (write-ahead log
//! with fsync, local store) and a load generator in the same process, posting native batches of
//! about 100 events over keep-alive connections. Prints events/s acknowledged at full load, then
//! p50/p99 latency at half that rate (open loop).
//!
//! `cargo run --release -p heatpipe-benches --bin ingest [SECONDS] [CONNECTIONS]`

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
    let (events, batches) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|worker| {
            let (client, url, bodies, events, batches, latencies, stop) = (
                client.clone(),
                format!("{url}/v1/collect"),
                bodies.clone(),
                events.clone(),
                batches.clone(),
                latencies.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut local = Vec::new();
                let mut next = Instant::now();
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(interval) = interval {
                        tokio::time::sleep_until(next.into()).await;
                        next += interval;
                    }
                    let (body, count) = &bodies[i % bodies.len()];
                    i += connections;
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    if matches!(&response, Ok(r) if r.status() == 200) {
                        local.push(sent.elapsed());
                        events.fetch_add(*count, Ordering::Relaxed);
                        batches.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().expect("lock").extend(local);
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().expect("lock"));
    latencies.sort();
    Run {
        events: events.load(Ordering::Relaxed),
        batches: batches.load(Ordering::Relaxed),
        elapsed,
        latencies,
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
    let store = Arc::new(LocalStore::open(folder.path().join("store"))?);
    let config = CollectorConfig {
        wal_dir: folder.path().join("wal"),
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
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

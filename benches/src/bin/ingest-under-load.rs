//! Whether heavy requests starve light ones: a collector and a renderer on one tokio runtime
//! (two worker threads, as on this 2-core machine), each on its own 127.0.0.1 listener. A probe
//! sends a small native batch (10 events) and a `GET /healthz` every 20 ms and records their
//! latencies, first alone, then while two clients post 8 MiB rrweb batches (gzip; a full DOM
//! snapshot, which the collector decompresses and parses) and two clients ask for click heatmaps
//! the image cache cannot answer (each with a new radius). Prints p50/p99 of both probes in both
//! phases and the ratio loaded / alone: the runtime's threads do no heavy work, so the ratio
//! stays small.
//!
//! `cargo run --release -p heatpipe-benches --bin ingest-under-load [SECONDS]`

// The collector's and the renderer's filter chains, both served from this one crate, nest
// deeper than the default limit in a release build.
#![recursion_limit = "256"]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use heatpipe_benches::{BENCH_DATE, BENCH_SITE, bench_traffic};
use heatpipe_collector::{Collector, CollectorConfig};
use heatpipe_core::keys::parse_date;
use heatpipe_fixtures::write_sealed_chunks;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig};
use serde_json::json;

/// Time between two probes.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// An rrweb batch of about 8 MiB of JSON: a Meta event and a FullSnapshot of a large page.
fn big_rrweb_batch(t0: i64) -> Vec<u8> {
    let nodes: Vec<_> = (0..60_000)
        .map(|i| json!({"type": 2, "id": i + 2, "tagName": "div", "attributes": {"class": format!("row r{i}")}, "childNodes": [{"type": 3, "id": 1_000_000 + i, "textContent": "****"}]}))
        .collect();
    let events = json!([
        {"type": 4, "data": {"href": "https://bench.example/", "width": 1280, "height": 800}, "timestamp": t0},
        {"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": nodes}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": t0 + 5},
    ]);
    let json = serde_json::to_vec(&events).unwrap_or_default();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(&json);
    let gzipped = encoder.finish().unwrap_or_default();
    println!(
        "heavy batch: {:.1} MiB of JSON, {:.2} MiB gzipped",
        json.len() as f64 / 1048576.0,
        gzipped.len() as f64 / 1048576.0
    );
    gzipped
}

fn small_batch(session: u64, t0: i64) -> serde_json::Value {
    let moves: Vec<_> = (0..9).map(|i| json!([i * 10, 100 + i, 200 + i])).collect();
    json!({
        "site": BENCH_SITE, "session": format!("probe-{session}"), "seq": 0,
        "page": {"url": "https://bench.example/", "viewport": [1280, 800], "started_at": t0},
        "clicks": [[5, 10, 20, "#a"]], "moves": moves
    })
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples
        .get(((samples.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Probe latencies (ms) of small batches and of `/healthz`, for `duration`.
async fn probe(collector_url: &str, duration: Duration, t0: i64) -> (Vec<f64>, Vec<f64>) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let client = reqwest::Client::new();
    let (mut batches, mut health) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while started.elapsed() < duration {
        let next = Instant::now() + PROBE_EVERY;
        let session = NEXT.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let sent = client
            .post(format!("{collector_url}/v1/collect"))
            .json(&small_batch(session, t0))
            .send()
            .await;
        if sent.is_ok_and(|r| r.status() == 200) {
            batches.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let start = Instant::now();
        if client
            .get(format!("{collector_url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            health.push(start.elapsed().as_secs_f64() * 1e3);
        }
        tokio::time::sleep_until(next.into()).await;
    }
    (batches, health)
}

/// Heavy clients until `stop`: rrweb posts and uncached heatmaps; returns how many of each.
async fn heavy_load(
    collector_url: String,
    renderer_url: String,
    heavy: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
) -> (u64, u64) {
    let mut tasks = Vec::new();
    for client_no in 0..2u64 {
        let (url, body, stopping) = (collector_url.clone(), heavy.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut done = 0;
            while !stopping.load(Ordering::Relaxed) {
                let response = client
                    .post(format!(
                        "{url}/v1/rrweb/{BENCH_SITE}/heavy-{client_no}-{done}"
                    ))
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .body(body.as_ref().clone())
                    .send()
                    .await;
                done += u64::from(response.is_ok_and(|r| r.status() == 200));
            }
            (done, 0)
        }));
        let (url, stopping) = (renderer_url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut done = 0;
            let mut radius = 10 + client_no * 1000;
            while !stopping.load(Ordering::Relaxed) {
                radius += 1;
                let response = client
                    .get(format!("{url}/api/sites/{BENCH_SITE}/heatmap.png?page=https://bench.example/demo/&kind=move&from={BENCH_DATE}&to={BENCH_DATE}&radius={}", 8 + radius % 40))
                    .send()
                    .await;
                done += u64::from(response.is_ok_and(|r| r.status() == 200));
            }
            (0, done)
        }));
    }
    let mut totals = (0, 0);
    for task in tasks {
        if let Ok((posts, heatmaps)) = task.await {
            totals = (totals.0 + posts, totals.1 + heatmaps);
        }
    }
    totals
}

fn report(phase: &str, batches: &mut [f64], health: &mut [f64]) -> (f64, f64) {
    let (b50, b99) = (percentile(batches, 0.5), percentile(batches, 0.99));
    let (h50, h99) = (percentile(health, 0.5), percentile(health, 0.99));
    println!(
        "{phase:<7} small batches ({:>4}): p50 {b50:>6.2} ms, p99 {b99:>7.2} ms; /healthz ({:>4}): p50 {h50:>6.2} ms, p99 {h99:>7.2} ms",
        batches.len(),
        health.len()
    );
    (b99, h99)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(10), |s| s.parse())?;
    let folder = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path().join("store"))?);
    let mut streams = bench_traffic(3_000);
    write_sealed_chunks(store.as_ref(), BENCH_SITE, "c0", &mut streams, 60_000).await?;
    let date = parse_date(BENCH_DATE)?;
    process_day(store.clone(), &ProcessOptions::new(BENCH_SITE, date)).await?;
    let t0 = heatpipe_core::keys::date_start_ms(date) + 3_600_000;

    let config = CollectorConfig {
        wal_dir: Some(folder.path().join("wal")),
        rate_limit_per_s: 0,
        ..CollectorConfig::default()
    };
    let collector = Collector::open(store.clone(), config)?;
    let collector_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let collector_url = format!("http://{}", collector_listener.local_addr()?);
    tokio::spawn(heatpipe_collector::serve(
        collector.clone(),
        collector_listener,
        std::future::pending(),
    ));
    let renderer_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let renderer_url = format!("http://{}", renderer_listener.local_addr()?);
    tokio::spawn(heatpipe_renderer::serve(
        Renderer::new(store.clone(), RendererConfig::default()),
        renderer_listener,
        std::future::pending(),
    ));
    let heavy = Arc::new(big_rrweb_batch(t0));

    let duration = Duration::from_secs(seconds);
    let (mut batches, mut health) = probe(&collector_url, duration, t0).await;
    let (alone_b99, alone_h99) = report("alone", &mut batches, &mut health);
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(heavy_load(
        collector_url.clone(),
        renderer_url,
        heavy,
        stop.clone(),
    ));
    let (mut batches, mut health) = probe(&collector_url, duration, t0).await;
    stop.store(true, Ordering::Relaxed);
    let (posts, heatmaps) = load.await?;
    let (loaded_b99, loaded_h99) = report("loaded", &mut batches, &mut health);
    println!(
        "meanwhile: {posts} heavy rrweb batches acknowledged, {heatmaps} uncached heatmaps drawn"
    );
    println!(
        "p99 loaded / alone: small batches {:.1}x, /healthz {:.1}x",
        loaded_b99 / alone_b99.max(1e-3),
        loaded_h99 / alone_h99.max(1e-3)
    );
    Ok(())
}

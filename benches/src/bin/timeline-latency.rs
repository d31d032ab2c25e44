//! Replay timeline latency: a 30-minute session (6 pages, a mouse move every 50 ms while active,
//! scrolls, clicks, idle stretches) stored among 2,000 other sessions of the same hour, processed,
//! then `GET …/sessions/{id}/timeline` from a renderer on a local store, over loopback HTTP.
//! Prints p50 and p90 of the requests, and of building the timeline in process.
//!
//! `cargo run --release -p heatpipe-benches --bin timeline-latency [REQUESTS]`

use std::sync::Arc;
use std::time::Instant;

use heatpipe_benches::{BENCH_DATE, BENCH_SITE, bench_traffic};
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::timeline::build_timeline;
use heatpipe_renderer::{Renderer, RendererConfig};

const SESSION: &str = "thirty-minutes";
const PAGE_MS: u32 = 5 * 60_000;

/// Six five-minute page views: active for four minutes (moves every 50 ms, a scroll every 2 s,
/// a click every 20 s), then idle for one.
fn long_session(started_at_ms: i64) -> Vec<Stream> {
    let mut builder = SessionBuilder::new(SESSION, "https://bench.example/p0", started_at_ms)
        .document(1280, 8000);
    for page in 0..6u32 {
        if page > 0 {
            builder = builder.next_page(
                &format!("https://bench.example/p{page}"),
                i64::from(PAGE_MS),
            );
        }
        let active_ms = PAGE_MS - 60_000;
        let moves: Vec<(u32, i32, i32)> = (0..active_ms / 50)
            .map(|i| {
                let t = i * 50;
                let phase = f64::from(t) / 1_700.0;
                (
                    t,
                    (640.0 + 500.0 * phase.sin()) as i32,
                    (400.0 + 300.0 * (phase * 0.7).cos()) as i32 + (t / 100) as i32,
                )
            })
            .collect();
        builder = builder.moves(&moves);
        for t in (0..active_ms).step_by(2_000) {
            builder = builder.scroll(t, (t / 40) as i32);
        }
        for t in (10_000..active_ms).step_by(20_000) {
            builder = builder.click(t, 600, 500 + (t / 100) as i32, "#cta");
        }
    }
    builder.build()
}

fn percentile(samples: &mut [f64], share: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * share).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::args().nth(1).map_or(Ok(200), |a| a.parse())?;
    let date = parse_date(BENCH_DATE)?;
    let folder = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path())?);
    let mut streams = bench_traffic(2_000);
    let ours = long_session(date_start_ms(date) + 3_600_000);
    let events: usize = ours.iter().map(Stream::num_events).sum();
    streams.extend(ours);
    write_chunks(store.as_ref(), BENCH_SITE, "bench", &streams, 500).await?;
    process_day(store.clone(), &ProcessOptions::new(BENCH_SITE, date)).await?;

    let index = SessionIndex::decode(&store.get(&session_index_key(BENCH_SITE, date)).await?)?;
    let summary = index
        .sessions
        .iter()
        .find(|s| s.id == SESSION)
        .ok_or_else(|| anyhow::anyhow!("the long session is not indexed"))?
        .clone();
    let blocks = index.session_blocks(&summary);
    let mut in_process = Vec::new();
    for _ in 0..requests.min(100) {
        let start = Instant::now();
        let timeline = build_timeline(&store, date, summary.clone(), blocks.clone()).await?;
        std::hint::black_box(serde_json::to_vec(&timeline)?);
        in_process.push(start.elapsed().as_secs_f64() * 1e3);
    }

    let (mut samples, bytes, returned) = time_over_http(store, requests).await?;
    anyhow::ensure!(
        returned == events,
        "{returned} events returned, {events} stored"
    );
    println!(
        "timeline of a 30-minute session: {events} events in {} blocks, {bytes} bytes of JSON",
        summary.blocks.len()
    );
    println!(
        "  over HTTP from a local store: p50 {:.2} ms, p90 {:.2} ms ({requests} requests)",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.9)
    );
    println!(
        "  in process (ranged reads, decode, markers, JSON): p50 {:.2} ms",
        percentile(&mut in_process, 0.5)
    );
    Ok(())
}

/// GETs the long session's timeline `requests` times from a renderer on `store`; returns the
/// requests' times in ms, and the size of the last response and how many events it held.
async fn time_over_http(
    store: Arc<dyn ObjectStore>,
    requests: usize,
) -> anyhow::Result<(Vec<f64>, usize, usize)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}/api/sites/{BENCH_SITE}/sessions/{SESSION}/timeline?date={BENCH_DATE}",
        listener.local_addr()?
    );
    let renderer = Renderer::new(store, RendererConfig::default());
    tokio::spawn(heatpipe_renderer::serve(
        renderer,
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let (mut samples, mut bytes, mut returned) = (Vec::new(), 0, 0);
    for _ in 0..requests {
        let start = Instant::now();
        let response = client.get(&url).send().await?;
        anyhow::ensure!(response.status() == 200, "{}", response.status());
        let body = response.bytes().await?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        bytes = body.len();
        returned = serde_json::from_slice::<serde_json::Value>(&body)?["events"]
            .as_array()
            .map_or(0, Vec::len);
    }
    Ok((samples, bytes, returned))
}

//! The session list of a busy day, over loopback HTTP from a local store, with the renderer's
//! default `session_index_cache_mib` (the index kept decoded if it fits, read one session at a
//! time if not) and with 0 (always read one session at a time). Prints which way the index was
//! read, the median wall time of each request and the process's peak RSS after each.
//!
//! Runs on the vs-DuckDB benchmark day (`bash benches/vs_duckdb.sh` generates it):
//! `cargo run --release -p heatpipe-benches --bin session-list [STORE] [REQUESTS]`

use std::sync::Arc;
use std::time::Instant;

use heatpipe_benches::{BENCH_DATE, BENCH_SITE, bench_day_dir, median};
use heatpipe_core::keys::{parse_date, session_index_key};
use heatpipe_core::session_reader::SessionIndexReader;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_renderer::{Renderer, RendererConfig};

/// The process's peak resident memory so far, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Median milliseconds of `requests` GETs of `paths` (in turn) from a renderer on `store`.
async fn time_requests(
    store: &Arc<dyn ObjectStore>,
    cache_mib: u64,
    paths: &[String],
    requests: usize,
) -> anyhow::Result<Vec<f64>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = RendererConfig {
        session_index_cache_mib: cache_mib,
        ..RendererConfig::default()
    };
    tokio::spawn(heatpipe_renderer::serve(
        Renderer::new(store.clone(), config),
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let mut medians = Vec::new();
    for path in paths {
        let mut samples = Vec::new();
        for _ in 0..requests {
            let start = Instant::now();
            let response = client.get(format!("{base}{path}")).send().await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            std::hint::black_box(response.bytes().await?);
            samples.push(start.elapsed().as_secs_f64() * 1e3);
        }
        medians.push(median(samples));
    }
    Ok(medians)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder = args.next().map_or_else(
        || bench_day_dir(20_000_000).join("store"),
        std::path::PathBuf::from,
    );
    let requests: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&folder)?);
    let date = parse_date(BENCH_DATE)?;
    let bytes = store.get(&session_index_key(BENCH_SITE, date)).await?;
    let mut reader = SessionIndexReader::open(&bytes)?;
    let sessions = reader.remaining();
    let newest = reader
        .by_ref()
        .last()
        .ok_or_else(|| anyhow::anyhow!("the day has no sessions"))??;
    println!(
        "{BENCH_SITE} {BENCH_DATE}: {sessions} sessions, index {:.1} MB ({:.1} MB decompressed)",
        bytes.len() as f64 / 1e6,
        heatpipe_core::frame::declared_raw_len(&bytes).unwrap_or(0) as f64 / 1e6
    );
    let list = format!("/api/sites/{BENCH_SITE}/sessions?from={BENCH_DATE}&to={BENCH_DATE}");
    let paths = [
        format!("{list}&limit=1000"),
        format!("{list}&frustration=rage&device=mobile&limit=100"),
        format!(
            "/api/sites/{BENCH_SITE}/sessions/{}/timeline?date={BENCH_DATE}",
            newest.id
        ),
    ];
    let names = ["newest 1000", "rage on mobile", "timeline (last session)"];
    let raw_bytes = heatpipe_core::frame::declared_raw_len(&bytes).unwrap_or(0) as u64;
    let default_mib = RendererConfig::default().session_index_cache_mib;
    // Streamed first: its peak is then the process's peak before any index is decoded whole.
    for cache_mib in [0, default_mib] {
        let mode = if raw_bytes > cache_mib << 20 {
            "read one session at a time"
        } else {
            "decoded and cached"
        };
        let medians = time_requests(&store, cache_mib, &paths, requests).await?;
        println!("{mode} (session_index_cache_mib = {cache_mib}):");
        for (name, ms) in names.iter().zip(medians) {
            println!("  {name:<24} median {ms:8.1} ms ({requests} requests)");
        }
        println!("  peak RSS so far: {:.0} MB", peak_rss_mb());
    }
    Ok(())
}

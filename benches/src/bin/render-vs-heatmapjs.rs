//! Renders a 1280 × 6000 click overlay of 100,000 clicks through the renderer's HTTP endpoint,
//! cold (no image cache) and cached, and draws the same points with heatmap.js in headless
//! Chromium (canvas + PNG encoding) in the same run; prints the p50 of each and the ratio.
//!
//! `benches/render_vs_heatmapjs.sh [POINTS] [ITERATIONS]`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use heatpipe_core::agg::{PageAgg, SegmentAgg};
use heatpipe_core::keys::page_agg_key;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_renderer::render::{HeatmapKind, HeatmapRequest, render_segment_image};
use heatpipe_renderer::{Renderer, RendererConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 6000;
const RADIUS: u32 = 32;
const SITE: &str = "bench";
const PAGE_KEY: &str = "00000000000000aa";

/// Clicks as a real page gets them: most around a few dozen targets, the rest anywhere.
fn points(count: usize) -> Vec<(i32, i32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let targets: Vec<(f64, f64, f64)> = (0..40)
        .map(|_| {
            (
                rng.random_range(40.0..f64::from(WIDTH) - 40.0),
                rng.random_range(40.0..f64::from(HEIGHT) - 40.0),
                rng.random_range(8.0..60.0),
            )
        })
        .collect();
    (0..count)
        .map(|_| {
            if rng.random_bool(0.7) {
                let (x, y, spread) = targets[rng.random_range(0..targets.len())];
                // Box–Muller: a normal offset around the target.
                let (u, v): (f64, f64) = (rng.random_range(1e-9..1.0), rng.random());
                let r = (-2.0 * u.ln()).sqrt() * spread;
                let angle = std::f64::consts::TAU * v;
                (
                    (x + r * angle.cos()).clamp(0.0, f64::from(WIDTH - 1)) as i32,
                    (y + r * angle.sin()).clamp(0.0, f64::from(HEIGHT - 1)) as i32,
                )
            } else {
                (
                    rng.random_range(0..WIDTH as i32),
                    rng.random_range(0..HEIGHT as i32),
                )
            }
        })
        .collect()
}

fn p50(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn serve(store: Arc<dyn ObjectStore>, cache_entries: usize) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let renderer = Renderer::new(
        store,
        RendererConfig {
            png_cache_entries: cache_entries,
            ..RendererConfig::default()
        },
    );
    tokio::spawn(heatpipe_renderer::serve(
        renderer,
        listener,
        std::future::pending(),
    ));
    Ok(url)
}

/// p50 of `iterations` GETs of `url`, in ms, and the PNG's size.
async fn time_gets(url: &str, iterations: usize) -> anyhow::Result<(f64, usize)> {
    let client = reqwest::Client::new();
    let (mut samples, mut size) = (Vec::new(), 0);
    for _ in 0..iterations {
        let start = Instant::now();
        let response = client.get(url).send().await?;
        anyhow::ensure!(response.status() == 200, "{url}: {}", response.status());
        size = response.bytes().await?.len();
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok((p50(samples), size))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let iterations: usize = args.next().map_or(Ok(15), |a| a.parse())?;
    let clicks = points(count);

    let mut segment = SegmentAgg {
        views: 1,
        max_document_width_px: WIDTH,
        max_document_height_px: HEIGHT,
        ..SegmentAgg::default()
    };
    for &(x, y) in &clicks {
        segment.click_grid.add(x, y);
    }
    let folder = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path())?);
    let date = chrono::Utc::now().date_naive();
    store_page(store.as_ref(), date, &segment).await?;

    let (draw, encode) = time_in_process(&segment, iterations)?;

    let query = format!(
        "/api/sites/{SITE}/heatmap.png?page={PAGE_KEY}&from={date}&to={date}&kind=click&radius={RADIUS}"
    );
    let cold_url = format!("{}{query}", serve(store.clone(), 0).await?);
    let cached_url = format!("{}{query}", serve(store.clone(), 64).await?);
    let (cold, png_bytes) = time_gets(&cold_url, iterations).await?;
    time_gets(&cached_url, 1).await?;
    let (cached, _) = time_gets(&cached_url, iterations.max(100)).await?;

    let peer = run_heatmapjs(folder.path(), &clicks, &segment, iterations).await?;
    let peer_ms = peer["p50_ms"].as_f64().context("p50_ms")?;

    println!(
        "{count} clicks on a {WIDTH} × {HEIGHT} page, radius {RADIUS} px, p50 of {iterations} runs"
    );
    println!(
        "  heatpipe in process: draw {:.1} ms + PNG encode {:.1} ms",
        p50(draw),
        p50(encode)
    );
    println!("  heatpipe over HTTP, cold:   {cold:.1} ms ({png_bytes} bytes of PNG)");
    println!("  heatpipe over HTTP, cached: {cached:.2} ms");
    println!(
        "  heatmap.js in Chromium (canvas + PNG): {peer_ms:.1} ms ({} bytes of PNG)",
        peer["png_bytes"]
    );
    println!(
        "  heatpipe cold is {:.1}× faster than heatmap.js",
        peer_ms / cold
    );
    Ok(())
}

/// Stores `segment` as the desktop segment of the benchmark page's aggregate for `date`.
async fn store_page(
    store: &dyn ObjectStore,
    date: chrono::NaiveDate,
    segment: &SegmentAgg,
) -> anyhow::Result<()> {
    let mut page = PageAgg::new("https://bench.example/".into(), PAGE_KEY.into());
    page.segments
        .insert("device=desktop".into(), segment.clone());
    store
        .put(
            &page_agg_key(SITE, date, PAGE_KEY),
            Bytes::from(page.encode()?),
        )
        .await?;
    Ok(())
}

/// Times drawing and PNG encoding in process, without HTTP or the store: `iterations` samples
/// of each, in ms.
fn time_in_process(
    segment: &SegmentAgg,
    iterations: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let request = HeatmapRequest::new(HeatmapKind::Click);
    let (mut draw, mut encode) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let start = Instant::now();
        let image = render_segment_image(segment, &request)?;
        draw.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        std::hint::black_box(image.encode_png()?);
        encode.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok((draw, encode))
}

/// Draws `clicks` with heatmap.js in headless Chromium (`browser/heatmapjs.mjs`), the points
/// written to a file in `folder`; returns what it reports (`p50_ms`, `png_bytes`).
async fn run_heatmapjs(
    folder: &Path,
    clicks: &[(i32, i32)],
    segment: &SegmentAgg,
    iterations: usize,
) -> anyhow::Result<serde_json::Value> {
    // heatmap.js's `max`: the value drawn at full colour, as ours, the 99th percentile of the
    // non-zero 8-px cell counts.
    let mut cells: Vec<u32> = (0..segment.click_grid.rows)
        .flat_map(|r| (0..segment.click_grid.cols).map(move |c| (c, r)))
        .map(|(c, r)| segment.click_grid.get(c, r))
        .filter(|v| *v > 0)
        .collect();
    cells.sort_unstable();
    let max = cells[(cells.len() - 1) * 99 / 100];
    let spec = serde_json::json!({
        "width": WIDTH, "height": HEIGHT, "radius": RADIUS, "max": max,
        "points": clicks.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>(),
    });
    let points_file = folder.join("points.json");
    std::fs::write(&points_file, serde_json::to_vec(&spec)?)?;
    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let output = tokio::process::Command::new("node")
        .arg("heatmapjs.mjs")
        .arg(&points_file)
        .arg(iterations.min(9).to_string())
        .current_dir(&browser)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), output)
        .await
        .context("heatmap.js run timed out")??;
    anyhow::ensure!(
        output.status.success(),
        "heatmap.js run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

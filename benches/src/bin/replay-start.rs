//! Replay start (issue 28): how long the viewer takes, in headless Chromium, from opening a
//! recorded 10-minute session to drawing its first replayed frame, from a local store; next to
//! rrweb's Replayer alone drawing its first frame from the same events as a static JSON file.
//!
//! One session is recorded in headless Chromium (`browser/record.mjs`, Playwright's clock) on
//! the Bootstrap-styled shop page carrying heatpipe's tracker, reaches a collector on
//! 127.0.0.1, and is processed with `compact_replay` (the nightly run). The read side serves
//! it from the local store on loopback. `browser/replay_start.mjs` then opens the viewer's
//! sessions tab and clicks the session, in a fresh browser context each run, timing from the
//! click until the replayer's iframe shows the recorded page (`#open-dialog`); the peer fetches
//! the recording API's events, saved as a plain JSON file, and gives them to
//! `heatpipeRrwebReplayer` (the renderer's `/assets/replay.js`). A warm-up run of each is not
//! counted.
//!
//! `cargo run --release -p heatpipe-benches --bin replay-start [RUNS] [MINUTES]` (default 15
//! runs of a 10-minute session); run `benches/replay.sh`, which installs the browser side.

#![recursion_limit = "256"]

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use heatpipe_benches::replay_page::{SITE, START_MS, node, serve_local, serve_page};
use heatpipe_collector::{Collector, CollectorConfig};
use heatpipe_core::keys::date_hour_of_ms;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig};
use warp::Filter;

/// The peer's page: rrweb's Replayer from the read side at `reader`, and `events` (plain JSON)
/// as a static file next to it. Returns the page's URL.
async fn serve_peer(reader: &str, events: Vec<u8>) -> anyhow::Result<String> {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>rrweb Replayer</title>\
         <script src=\"{reader}/assets/replay.js\"></script></head>\
         <body><div id=\"root\"></div></body></html>"
    );
    let page = warp::path!("peer.html").map(move || warp::reply::html(html.clone()));
    let file = warp::path!("events.json").map(move || {
        warp::http::Response::builder()
            .header("content-type", "application/json")
            .body(events.clone())
            .unwrap_or_default()
    });
    Ok(format!("{}/peer.html", serve_local(page.or(file)).await?))
}

/// Records one session of `minutes` minutes through a collector into `store`; returns its id.
async fn record(store: Arc<dyn ObjectStore>, wal: PathBuf, minutes: f64) -> anyhow::Result<String> {
    let config = CollectorConfig {
        wal_dir: Some(wal),
        rate_limit_per_s: 0,
        ..CollectorConfig::default()
    };
    let collector = Collector::open(store, config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let collector_url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(heatpipe_collector::serve(collector, listener, async {
        let _ = stopped.await;
    }));
    let page = serve_page(&collector_url).await?;
    let start = START_MS.to_string();
    let out = node("record.mjs", &[&page, "1", &minutes.to_string(), &start]).await?;
    let _ = stop.send(());
    serving.await?;
    out.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|line| line["session"].as_str().map(str::to_owned))
        .context("record.mjs printed no session")
}

/// The `q` quantile (nearest rank) of `values`, which are sorted.
fn quantile(values: &[f64], q: f64) -> f64 {
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// `key` of every run in `runs`, sorted.
fn sorted(runs: &serde_json::Value, key: &str) -> anyhow::Result<Vec<f64>> {
    let mut values = runs
        .as_array()
        .context("runs")?
        .iter()
        .map(|run| run[key].as_f64().with_context(|| format!("{key} of a run")))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    if values.is_empty() {
        bail!("no runs");
    }
    values.sort_by(f64::total_cmp);
    Ok(values)
}

/// Prints p50, p90 and max of `key` over `runs` as `label`; returns the p50.
fn summary(label: &str, runs: &serde_json::Value, key: &str) -> anyhow::Result<f64> {
    let values = sorted(runs, key)?;
    let p50 = quantile(&values, 0.5);
    println!(
        "{label}: p50 {p50:.1} ms, p90 {:.1} ms, max {:.1} ms",
        quantile(&values, 0.9),
        values[values.len() - 1]
    );
    Ok(p50)
}

/// Starts the read side on the local store (loopback, no token); returns its URL, the session's
/// recording answer (identity encoding) and its events.
async fn serve_read_side(
    store: Arc<dyn ObjectStore>,
    session: &str,
    date: chrono::NaiveDate,
) -> anyhow::Result<(String, bytes::Bytes, Vec<serde_json::Value>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let reader = format!("http://{}", listener.local_addr()?);
    let renderer = Renderer::new(store, RendererConfig::default()).on_loopback();
    tokio::spawn(heatpipe_renderer::serve(
        renderer,
        listener,
        std::future::pending(),
    ));
    let url = format!("{reader}/api/sites/{SITE}/sessions/{session}/recording?date={date}");
    let answer = reqwest::get(&url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let parsed: serde_json::Value = serde_json::from_slice(&answer)?;
    let events = parsed["events"].as_array().context("events")?.clone();
    Ok((reader, answer, events))
}

/// Prints the recording's size and the figures of `result` (replay_start.mjs's answer).
fn report(
    result: &serde_json::Value,
    minutes: f64,
    runs: usize,
    events: usize,
    answer_bytes: usize,
    peer_bytes: usize,
) -> anyhow::Result<()> {
    let runs_shown = result["viewer"].as_array().context("viewer runs")?;
    if runs_shown
        .iter()
        .any(|run| run["shown"] != serde_json::Value::Bool(true))
    {
        bail!("the viewer's replayer frame was not shown on screen in every run");
    }
    let encoded = result["viewer"][0]["encoded_bytes"].as_u64().unwrap_or(0);
    println!(
        "1 session of {minutes} min: {} rrweb events, /recording answer {} bytes of JSON ({encoded} bytes on the wire to Chromium), peer file {} bytes",
        events, answer_bytes, peer_bytes
    );
    println!("{runs} runs each after a warm-up, fresh browser context per run:");
    let viewer = summary(
        "heatpipe viewer, session opened -> first frame",
        &result["viewer"],
        "total_ms",
    )?;
    summary(
        "  of which fetching /recording",
        &result["viewer"],
        "recording_ms",
    )?;
    let peer = summary(
        "rrweb Replayer alone, static JSON fetch -> first frame",
        &result["peer"],
        "total_ms",
    )?;
    summary("  of which fetching the JSON", &result["peer"], "fetch_ms")?;
    println!("ratio of p50s: {:.2}x rrweb alone", viewer / peer);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(15), |a| a.parse())?;
    let minutes: f64 = args.next().map_or(Ok(10.0), |a| a.parse())?;
    let folder = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path().join("store"))?);
    let session = record(store.clone(), folder.path().join("wal"), minutes).await?;
    let (date, _) = date_hour_of_ms(START_MS);
    let mut options = ProcessOptions::new(SITE, date);
    options.compact_replay = true;
    process_day(store.clone(), &options).await?;

    let (reader, answer, events) = serve_read_side(store, &session, date).await?;
    let peer_file = serde_json::to_vec(&events)?;
    let peer_page = serve_peer(&reader, peer_file.clone()).await?;

    let out = node(
        "replay_start.mjs",
        &[
            &reader,
            &peer_page,
            &session,
            &date.to_string(),
            &runs.to_string(),
        ],
    )
    .await?;
    let result: serde_json::Value = serde_json::from_str(out.trim())?;
    report(
        &result,
        minutes,
        runs,
        events.len(),
        answer.len(),
        peer_file.len(),
    )
}

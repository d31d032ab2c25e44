//! What a DOM recording costs in the store, next to the same events as rrweb JSON compressed
//! with gzip (level 6, what web servers and most pipelines use), whole sessions at a time as
//! rrweb's storage advice says.
//!
//! Sessions are recorded in headless Chromium (`browser/record.mjs`) on a shop page styled with
//! Bootstrap's published stylesheet (from npm), carrying heatpipe's tracker with
//! `data-replay="dom"`: the pointer moves every 100 ms, the page scrolls, a dialog opens and a
//! field is typed into. They reach a collector on 127.0.0.1, are uploaded and processed (the
//! nightly run, which compacts the day's replay lane). The peer's bytes are each session's
//! events exactly as the read API gives them (masked, in order), as one JSON array, gzipped.
//!
//! `cargo run --release -p heatpipe-benches --bin replay-storage [SESSIONS] [MINUTES]`
//! (default 6 sessions of 2 minutes); run `benches/replay.sh`, which installs the browser side.

#![recursion_limit = "256"]

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use heatpipe_benches::replay_page::{SITE, START_MS, node, serve_page};
use heatpipe_collector::{Collector, CollectorConfig};
use heatpipe_core::keys::{date_hour_of_ms, replay_day_prefix};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig};

/// Records `sessions` sessions of `minutes` minutes; returns their ids.
async fn record(page: &str, sessions: usize, minutes: f64) -> anyhow::Result<Vec<String>> {
    let output = node(
        "record.mjs",
        &[
            page,
            &sessions.to_string(),
            &minutes.to_string(),
            &START_MS.to_string(),
        ],
    )
    .await?;
    let ids = output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line["session"].as_str().map(str::to_owned))
        .collect();
    Ok(ids)
}

/// Bytes of every object under `prefix`.
async fn stored_bytes(store: &dyn ObjectStore, prefix: &str) -> anyhow::Result<(u64, usize)> {
    let listed = store.list(prefix).await?;
    Ok((listed.iter().map(|m| m.size_bytes).sum(), listed.len()))
}

/// gzip (level 6) of one session's events as the read API gives them, and how many events.
async fn peer_bytes(reader: &str, session: &str, date: &str) -> anyhow::Result<(u64, usize)> {
    let url = format!("{reader}/api/sites/{SITE}/sessions/{session}/recording?date={date}");
    let answer: serde_json::Value = reqwest::get(&url).await?.error_for_status()?.json().await?;
    let events = answer["events"].as_array().context("events")?;
    let json = serde_json::to_vec(events)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(&json)?;
    Ok((encoder.finish()?.len() as u64, events.len()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let sessions: usize = args.next().map_or(Ok(6), |a| a.parse())?;
    let minutes: f64 = args.next().map_or(Ok(2.0), |a| a.parse())?;
    let folder = tempfile::tempdir()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path().join("store"))?);
    let config = CollectorConfig {
        wal_dir: Some(folder.path().join("wal")),
        rate_limit_per_s: 0,
        ..CollectorConfig::default()
    };
    let collector = Collector::open(store.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let collector_url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(heatpipe_collector::serve(collector, listener, async {
        let _ = stopped.await;
    }));
    let page = serve_page(&collector_url).await?;
    let ids = record(&page, sessions, minutes).await?;
    let _ = stop.send(());
    serving.await?;
    let (date, _) = date_hour_of_ms(START_MS);
    let prefix = replay_day_prefix(SITE, date);
    let (uploaded, uploaded_objects) = stored_bytes(store.as_ref(), &prefix).await?;
    let mut options = ProcessOptions::new(SITE, date);
    options.compact_replay = true;
    let summary = process_day(store.clone(), &options).await?;
    let (compacted, compacted_objects) = stored_bytes(store.as_ref(), &prefix).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let reader = format!("http://{}", listener.local_addr()?);
    let renderer = Renderer::new(store.clone(), RendererConfig::default()).on_loopback();
    tokio::spawn(heatpipe_renderer::serve(
        renderer,
        listener,
        std::future::pending(),
    ));
    let (mut peer, mut events) = (0, 0);
    for id in &ids {
        let (bytes, count) = peer_bytes(&reader, id, &date.to_string()).await?;
        peer += bytes;
        events += count;
    }
    let recorded_minutes = minutes * ids.len() as f64;
    let per_minute = |bytes: u64| bytes as f64 / recorded_minutes / 1024.0;
    println!(
        "{} sessions of {minutes} min recorded ({events} rrweb events; {} sessions indexed)",
        ids.len(),
        summary.recorded_sessions
    );
    println!(
        "rrweb JSON + gzip -6, whole sessions: {peer} bytes, {:.1} KiB per minute",
        per_minute(peer)
    );
    println!(
        "heatpipe, as uploaded ({uploaded_objects} objects): {uploaded} bytes, {:.1} KiB per minute, {:.2}x rrweb + gzip",
        per_minute(uploaded),
        uploaded as f64 / peer as f64
    );
    println!(
        "heatpipe, compacted ({compacted_objects} objects, index included): {compacted} bytes, {:.1} KiB per minute, {:.2}x rrweb + gzip",
        per_minute(compacted),
        compacted as f64 / peer as f64
    );
    Ok(())
}

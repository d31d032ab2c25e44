//! Prints what fixture pointer traffic costs on disk in heatpipe chunks, next to the same events
//! as rrweb recorder JSON compressed with gzip (level 6, what web servers and most pipelines use).
//!
//! `cargo run --release -p heatpipe-benches --bin storage-cost [SESSIONS]`

use heatpipe_benches::{bench_traffic, rrweb::rrweb_events};
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, encode_chunk};
use heatpipe_core::event::Stream;
use std::io::Write;

/// Streams per chunk: about what a collector seals from a few minutes of a busy site.
const STREAMS_PER_CHUNK: usize = 2000;

fn chunk_bytes(streams: &[Stream]) -> anyhow::Result<usize> {
    let mut total = 0;
    for group in streams.chunks(STREAMS_PER_CHUNK) {
        total += encode_chunk(group, DEFAULT_ZSTD_LEVEL)?.len();
    }
    Ok(total)
}

fn rrweb_gzip_bytes(streams: &[Stream]) -> anyhow::Result<usize> {
    let mut total = 0;
    for group in streams.chunks(STREAMS_PER_CHUNK) {
        let events: Vec<serde_json::Value> = group
            .iter()
            .flat_map(|s| rrweb_events(s, s.batch_seq == 0))
            .collect();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gzip.write_all(&serde_json::to_vec(&events)?)?;
        total += gzip.finish()?.len();
    }
    Ok(total)
}

fn main() -> anyhow::Result<()> {
    let sessions: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5000);
    let traffic = bench_traffic(sessions);
    let events: usize = traffic.iter().map(Stream::num_events).sum();
    let moves_only: Vec<Stream> = traffic
        .iter()
        .map(|s| Stream {
            clicks: vec![],
            scrolls: vec![],
            resizes: vec![],
            ..s.clone()
        })
        .collect();
    let num_moves: usize = moves_only.iter().map(|s| s.moves.len()).sum();

    let ours_all = chunk_bytes(&traffic)?;
    let ours_moves = chunk_bytes(&moves_only)?;
    let rrweb_all = rrweb_gzip_bytes(&traffic)?;
    let rrweb_moves = rrweb_gzip_bytes(&moves_only)?;
    let per = |bytes: usize, count: usize| bytes as f64 / count as f64;
    println!(
        "fixture traffic: {sessions} sessions, {} batches, {events} events, {num_moves} mouse moves",
        traffic.len()
    );
    println!(
        "{:<34} {:>12} {:>14} {:>14}",
        "", "heatpipe .hpc", "rrweb JSON+gz", "rrweb / ours"
    );
    println!(
        "{:<34} {:>12.2} {:>14.2} {:>14.2}",
        "bytes per event (all kinds)",
        per(ours_all, events),
        per(rrweb_all, events),
        rrweb_all as f64 / ours_all as f64
    );
    println!(
        "{:<34} {:>12.2} {:>14.2} {:>14.2}",
        "bytes per mouse move (moves only)",
        per(ours_moves, num_moves),
        per(rrweb_moves, num_moves),
        rrweb_moves as f64 / ours_moves as f64
    );
    Ok(())
}

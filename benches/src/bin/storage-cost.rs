//! Prints what fixture pointer traffic costs on disk in heatpipe chunks, next to the same events
//! as rrweb recorder JSON compressed with gzip (level 6, what web servers and most pipelines use)
//! and in a plain delta + varint + zstd column layout (see [`heatpipe_benches::plain`]). The
//! plain layout's figure says how hard the traffic is to compress: the ratio of ours to it holds
//! for other traffic better than either figure alone.
//!
//! Then it breaks our figure down: the chunk headers and each block column, in bytes per event,
//! which is where tuning the format starts.
//!
//! `cargo run --release -p heatpipe-benches --bin storage-cost [SESSIONS]`

use heatpipe_benches::{bench_traffic, plain::plain_chunk_bytes, rrweb::rrweb_events};
use heatpipe_core::chunk::block::column_sizes;
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, decode_header, encode_chunk};
use heatpipe_core::event::Stream;
use std::io::Write;

/// Streams per chunk: about what a collector seals from a few minutes of a busy site.
const STREAMS_PER_CHUNK: usize = 2000;

/// The bytes `streams` take, cut into chunks of [`STREAMS_PER_CHUNK`], each stored by `store`.
fn bytes_in_chunks(
    streams: &[Stream],
    store: impl Fn(&[Stream]) -> anyhow::Result<usize>,
) -> anyhow::Result<usize> {
    streams.chunks(STREAMS_PER_CHUNK).map(store).sum()
}

fn chunk_bytes(group: &[Stream]) -> anyhow::Result<usize> {
    Ok(encode_chunk(group, DEFAULT_ZSTD_LEVEL)?.len())
}

/// Bytes of chunk headers (with the preamble), and of each block column in storage order.
fn breakdown(streams: &[Stream]) -> anyhow::Result<(usize, Vec<(&'static str, usize)>)> {
    let (mut headers, mut columns) = (0, Vec::<(&'static str, usize)>::new());
    for group in streams.chunks(STREAMS_PER_CHUNK) {
        let bytes = encode_chunk(group, DEFAULT_ZSTD_LEVEL)?;
        let index = decode_header(&bytes)?;
        headers += index.data_start as usize;
        for block in 0..index.header.blocks.len() {
            let range = index
                .block_range(block)
                .ok_or_else(|| anyhow::anyhow!("block {block} out of range"))?;
            let sizes = column_sizes(&bytes[range.start as usize..range.end as usize])
                .map_err(anyhow::Error::msg)?;
            if columns.is_empty() {
                columns = sizes.iter().map(|(name, _, _)| (*name, 0)).collect();
            }
            for (total, (_, compressed, _)) in columns.iter_mut().zip(sizes) {
                total.1 += compressed;
            }
        }
    }
    Ok((headers, columns))
}

fn plain_bytes(group: &[Stream]) -> anyhow::Result<usize> {
    Ok(plain_chunk_bytes(group)?)
}

fn rrweb_gzip_bytes(group: &[Stream]) -> anyhow::Result<usize> {
    let events: Vec<serde_json::Value> = group
        .iter()
        .flat_map(|s| rrweb_events(s, s.batch_seq == 0))
        .collect();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gzip.write_all(&serde_json::to_vec(&events)?)?;
    Ok(gzip.finish()?.len())
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

    let ours_all = bytes_in_chunks(&traffic, chunk_bytes)?;
    let ours_moves = bytes_in_chunks(&moves_only, chunk_bytes)?;
    let rrweb_all = bytes_in_chunks(&traffic, rrweb_gzip_bytes)?;
    let rrweb_moves = bytes_in_chunks(&moves_only, rrweb_gzip_bytes)?;
    let plain_all = bytes_in_chunks(&traffic, plain_bytes)?;
    let plain_moves = bytes_in_chunks(&moves_only, plain_bytes)?;
    let per = |bytes: usize, count: usize| bytes as f64 / count as f64;
    println!(
        "fixture traffic: {sessions} sessions, {} batches, {events} events, {num_moves} mouse moves",
        traffic.len()
    );
    println!(
        "fixture traffic: {:.1} events and {:.0} bytes of .hpc per session",
        events as f64 / sessions as f64,
        per(ours_all, sessions)
    );
    println!(
        "{:<34} {:>12} {:>14} {:>14} {:>14} {:>14}",
        "", "heatpipe .hpc", "rrweb JSON+gz", "rrweb / ours", "plain columns", "ours / plain"
    );
    for (label, ours, rrweb, plain, count) in [
        (
            "bytes per event (all kinds)",
            ours_all,
            rrweb_all,
            plain_all,
            events,
        ),
        (
            "bytes per mouse move (moves only)",
            ours_moves,
            rrweb_moves,
            plain_moves,
            num_moves,
        ),
    ] {
        println!(
            "{label:<34} {:>12.2} {:>14.2} {:>14.2} {:>14.2} {:>14.3}",
            per(ours, count),
            per(rrweb, count),
            rrweb as f64 / ours as f64,
            per(plain, count),
            ours as f64 / plain as f64
        );
    }
    let (headers, columns) = breakdown(&traffic)?;
    println!("\nheatpipe bytes per event (all kinds), by part:");
    println!("  {:<22} {:>6.3}", "chunk headers", per(headers, events));
    for (name, bytes) in columns.iter().filter(|(_, bytes)| *bytes > 0) {
        println!(
            "  {:<22} {:>6.3}",
            format!("column {name}"),
            per(*bytes, events)
        );
    }
    Ok(())
}

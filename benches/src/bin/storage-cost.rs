//! Prints what fixture pointer traffic costs on disk in heatpipe chunks, next to the same events
//! as rrweb recorder JSON compressed with gzip (level 6, what web servers and most pipelines use)
//! and in a plain delta + varint + zstd column layout (see [`heatpipe_benches::plain`]). The
//! plain layout's figure says how hard the traffic is to compress: the ratio of ours to it holds
//! for other traffic better than either figure alone.
//!
//! The traffic comes at the benchmark day's rate (see
//! [`heatpipe_benches::traffic_at_bench_day_rate`]) and is cut into chunks as one collector
//! sealing its log at its default age would cut it: batches in arrival order, one chunk per
//! sealed segment and page-start hour. A chunk's size decides much of its cost (every chunk
//! names its sessions and strings again, every column is a zstd frame of its own), so the
//! figure holds for this rate and seal age; a table gives it for other seal ages.
//!
//! Then it breaks our figure down: the chunk headers and each block column, in bytes per event,
//! which is where tuning the format starts.
//!
//! `cargo run --release -p heatpipe-benches --bin storage-cost [SESSIONS]` (default 20,000)

use std::io::Write;

use heatpipe_benches::{
    BENCH_DAY_SESSION_SPACING_MS, bench_seal_age_ms, plain::plain_chunk_bytes, rrweb::rrweb_events,
    traffic_at_bench_day_rate,
};
use heatpipe_core::chunk::block::column_sizes;
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, decode_header, encode_chunk};
use heatpipe_core::event::Stream;
use heatpipe_fixtures::seal_as_collector;

/// Seal ages the table compares, in seconds.
const SEAL_AGES_S: [u64; 6] = [10, 30, 60, 120, 300, 600];

/// Streams in arrival order, cut into the chunks a collector sealing every `seal_age_ms`
/// uploads.
struct Sealed {
    streams: Vec<Stream>,
    chunks: Vec<std::ops::Range<usize>>,
}

impl Sealed {
    fn of(mut streams: Vec<Stream>, seal_age_ms: u64) -> Self {
        let chunks = seal_as_collector(&mut streams, seal_age_ms)
            .into_iter()
            .map(|chunk| chunk.streams)
            .collect();
        Sealed { streams, chunks }
    }

    fn groups(&self) -> impl Iterator<Item = &[Stream]> {
        self.chunks.iter().map(|range| &self.streams[range.clone()])
    }

    /// The bytes the chunks take, each stored by `store`.
    fn bytes(&self, store: impl Fn(&[Stream]) -> anyhow::Result<usize>) -> anyhow::Result<usize> {
        self.groups().map(store).sum()
    }
}

fn chunk_bytes(group: &[Stream]) -> anyhow::Result<usize> {
    Ok(encode_chunk(group, DEFAULT_ZSTD_LEVEL)?.len())
}

/// Bytes of chunk headers (with the preamble), and of each block column in storage order.
fn breakdown(sealed: &Sealed) -> anyhow::Result<(usize, Vec<(&'static str, usize)>)> {
    let (mut headers, mut columns) = (0, Vec::<(&'static str, usize)>::new());
    for group in sealed.groups() {
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

/// What one set of sealed chunks takes in each format, in bytes.
#[derive(Clone, Copy)]
struct Costs {
    ours: usize,
    rrweb: usize,
    plain: usize,
}

impl Costs {
    fn of(sealed: &Sealed) -> anyhow::Result<Self> {
        Ok(Costs {
            ours: sealed.bytes(chunk_bytes)?,
            rrweb: sealed.bytes(rrweb_gzip_bytes)?,
            plain: sealed.bytes(plain_bytes)?,
        })
    }
}

fn per(bytes: usize, count: usize) -> f64 {
    bytes as f64 / count as f64
}

fn main() -> anyhow::Result<()> {
    let sessions: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let traffic = traffic_at_bench_day_rate(sessions);
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

    let seal_age_ms = bench_seal_age_ms();
    let all = Sealed::of(traffic.clone(), seal_age_ms);
    let moves = Sealed::of(moves_only, seal_age_ms);
    let all_costs = Costs::of(&all)?;
    let move_costs = Costs::of(&moves)?;
    println!(
        "fixture traffic: {sessions} sessions starting {BENCH_DAY_SESSION_SPACING_MS} ms apart \
         on average, {} batches, {events} events, {num_moves} mouse moves",
        traffic.len()
    );
    println!(
        "sealed every {} s (the collector's default): {} chunks, {:.0} batches each",
        seal_age_ms / 1000,
        all.chunks.len(),
        traffic.len() as f64 / all.chunks.len() as f64
    );
    println!(
        "fixture traffic: {:.1} events and {:.0} bytes of .hpc per session",
        events as f64 / sessions as f64,
        per(all_costs.ours, sessions)
    );
    print_comparison(&all_costs, events, &move_costs, num_moves);
    print_by_seal_age(&traffic, events)?;
    print_breakdown(&all, events, seal_age_ms)
}

/// Prints bytes per event in each format, for all events and for mouse moves alone.
fn print_comparison(all: &Costs, events: usize, moves: &Costs, num_moves: usize) {
    println!(
        "{:<34} {:>12} {:>14} {:>14} {:>14} {:>14}",
        "", "heatpipe .hpc", "rrweb JSON+gz", "rrweb / ours", "plain columns", "ours / plain"
    );
    for (label, costs, count) in [
        ("bytes per event (all kinds)", all, events),
        ("bytes per mouse move (moves only)", moves, num_moves),
    ] {
        let Costs { ours, rrweb, plain } = *costs;
        println!(
            "{label:<34} {:>12.2} {:>14.2} {:>14.2} {:>14.2} {:>14.3}",
            per(ours, count),
            per(rrweb, count),
            rrweb as f64 / ours as f64,
            per(plain, count),
            ours as f64 / plain as f64
        );
    }
}

/// Prints what our chunks take per event when a collector seals at each of [`SEAL_AGES_S`].
fn print_by_seal_age(traffic: &[Stream], events: usize) -> anyhow::Result<()> {
    println!("\nheatpipe bytes per event (all kinds), by seal age:");
    for seconds in SEAL_AGES_S {
        let sealed = Sealed::of(traffic.to_vec(), seconds * 1000);
        println!(
            "  {seconds:>4} s: {:>6.3}  ({} chunks, {:.0} batches each)",
            per(sealed.bytes(chunk_bytes)?, events),
            sealed.chunks.len(),
            traffic.len() as f64 / sealed.chunks.len() as f64
        );
    }
    Ok(())
}

/// Prints what the chunk headers and each block column of `all` take per event.
fn print_breakdown(all: &Sealed, events: usize, seal_age_ms: u64) -> anyhow::Result<()> {
    let (headers, columns) = breakdown(all)?;
    println!(
        "\nheatpipe bytes per event (all kinds), by part, sealed every {} s:",
        seal_age_ms / 1000
    );
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

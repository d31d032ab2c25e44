//! heatpipe-benches: shared setup of the benchmarks, and converters to the peer formats the
//! comparisons measure against.
//!
//! # Layout
//! - [`bench_traffic`]: the seeded day of fixture traffic every benchmark uses.
//! - [`rrweb`]: the same streams as rrweb recorder JSON, for storage-cost comparisons.
//! - [`plain`]: the same streams in a plain delta + varint + zstd column layout, the baseline
//!   our chunk format is tuned against.
//! - [`median`]: the middle of a benchmark's samples.
//! - [`bench_day_dir`]: where the benchmark day is generated once.

pub mod plain;
pub mod rrweb;

use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{GENERATOR_VERSION, TrafficSpec, generate_traffic};
use std::path::PathBuf;

/// The day every benchmark uses.
pub const BENCH_DATE: &str = "2026-11-21";
/// The site every benchmark uses.
pub const BENCH_SITE: &str = "bench";

/// Returns `num_sessions` seeded sessions of demo-site traffic spread over [`BENCH_DATE`].
pub fn bench_traffic(num_sessions: usize) -> Vec<Stream> {
    let start = parse_date(BENCH_DATE).map(date_start_ms).unwrap_or(0);
    generate_traffic(&TrafficSpec {
        seed: 2026,
        origin: "https://bench.example".into(),
        num_sessions,
        window_ms: start..start + 86_400_000,
    })
}

/// Where `benches/vs_duckdb.sh` keeps its day of `events` events: one per chunk format and
/// generator version, so a change to either generates the day again.
pub fn bench_day_dir(events: u64) -> PathBuf {
    PathBuf::from(format!(
        "target/bench-day-{events}-v{}-g{GENERATOR_VERSION}",
        heatpipe_core::chunk::VERSION
    ))
}

/// Returns the middle sample (the upper middle of an even count); panics on no samples.
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

//! heatpipe-benches: shared setup of the benchmarks, and converters to the peer formats the
//! comparisons measure against.
//!
//! # Layout
//! - [`plain`] — the same streams in a plain delta + varint + zstd column layout, the baseline
//!   our chunk format is tuned against.
//! - [`replay_page`] — the replay benchmarks' shop page on 127.0.0.1 and their Node.js scripts.
//! - [`rrweb`] — the same streams as rrweb recorder JSON, for storage-cost comparisons.
//! - the crate root — [`bench_traffic`]: the seeded day of fixture traffic every benchmark uses;
//!   [`bench_day_dir`]: where the benchmark day is generated once, sealed as a collector seals
//!   its log every [`bench_seal_age_ms`]; [`traffic_at_bench_day_rate`]: traffic as dense;
//!   [`median`]: the middle of a benchmark's samples.
//! - `src/bin/` — one binary per comparison (`ingest`, `storage-cost`, `vs-duckdb`, …);
//!   `benches/` — the criterion benchmarks.

pub mod plain;
pub mod replay_page;
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

/// How long the benchmark day's sessions start apart on average: 180,000 sessions over the 20
/// hours `benches/vs_duckdb.sh` spreads them over.
pub const BENCH_DAY_SESSION_SPACING_MS: i64 = 400;

/// Returns `num_sessions` seeded sessions of demo-site traffic starting at the benchmark day's
/// rate (see [`BENCH_DAY_SESSION_SPACING_MS`]), from the start of [`BENCH_DATE`]: traffic whose
/// chunks, sealed as a collector seals them, are the size of the benchmark day's.
pub fn traffic_at_bench_day_rate(num_sessions: usize) -> Vec<Stream> {
    let start = parse_date(BENCH_DATE).map(date_start_ms).unwrap_or(0);
    generate_traffic(&TrafficSpec {
        seed: 2026,
        origin: "https://bench.example".into(),
        num_sessions,
        window_ms: start..start + num_sessions as i64 * BENCH_DAY_SESSION_SPACING_MS,
    })
}

/// How often the benchmark day's collector seals its log: the collector's default, so that
/// the day's chunks are the ones a collector left at its defaults stores.
pub fn bench_seal_age_ms() -> u64 {
    heatpipe_collector::CollectorConfig::default().seal_age_ms
}

/// Where `benches/vs_duckdb.sh` keeps its day of `events` events: one per chunk format,
/// generator version and seal age, so a change to any of them generates the day again.
pub fn bench_day_dir(events: u64) -> PathBuf {
    PathBuf::from(format!(
        "target/bench-day-{events}-v{}-g{GENERATOR_VERSION}-seal{}s",
        heatpipe_core::chunk::VERSION,
        bench_seal_age_ms() / 1000
    ))
}

/// Returns the middle sample (the upper middle of an even count); panics on no samples.
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

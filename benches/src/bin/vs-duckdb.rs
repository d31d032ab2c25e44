//! `heatpipe process` against DuckDB on the same synthetic day: wall times with 2 threads and
//! with 1 (each tool's own scaling, on the same machine in the same invocation), and a check
//! that both computed the same cell counts and scroll depths.
//!
//!   benches/vs_duckdb.sh [EVENTS]      (default 20,000,000; builds, installs duckdb, runs this)
//!
//! The day is generated once per chunk format, generator version and seal age into
//! `target/bench-day-{EVENTS}-v{VERSION}-g{GENERATOR_VERSION}-seal{SECONDS}s/`:
//! chunks in a local store (what one collector sealing its log at its default age writes, see
//! [`heatpipe_fixtures::seal_as_collector`]) and the same events in a zstd Parquet
//! file (what an export to a SQL engine holds). Both sides read from the page cache after the
//! first run. The runs are interleaved (a round runs each tool with 1 thread, then each with 2),
//! so that this machine's drift in speed falls on both alike; each figure is the median of its
//! runs. DuckDB's time is its queries with their results materialized in DuckDB (see
//! `benches/duckdb_grids.py`). The heatpipe measured is the shipped build, `target/dist/heatpipe`,
//! or the binary `HEATPIPE_BIN` names (to compare two builds).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use heatpipe_benches::{BENCH_DATE, BENCH_SITE, bench_day_dir, bench_seal_age_ms, median};
use heatpipe_core::agg::{PageAgg, PageIndex, SCROLL_BUCKET_PX};
use heatpipe_core::keys::{date_start_ms, page_agg_key, pages_key, parse_date};
use heatpipe_fixtures::parquet::ParquetEventsWriter;
use heatpipe_fixtures::{TrafficSpec, generate_session, write_sealed_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};

const SESSIONS_PER_BATCH: usize = 5_000;
const RUNS: usize = 5;

type Counts = BTreeMap<String, u64>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000_000);
    let dir = bench_day_dir(events);
    let segment_tags = vec!["variant".to_owned()];
    let store = LocalStore::open(dir.join("store"))?;
    if !dir.join("complete").exists() {
        generate_day(&store, &dir, events, &segment_tags).await?;
    }
    let date = parse_date(BENCH_DATE)?;
    let parquet_bytes = std::fs::metadata(dir.join("events.parquet"))?.len();
    let chunk_bytes: u64 = store
        .list(&format!("raw/{BENCH_SITE}/"))
        .await?
        .iter()
        .map(|m| m.size_bytes)
        .sum();
    println!(
        "day: {} events; chunks {chunk_bytes} bytes, Parquet (zstd) {parquet_bytes} bytes",
        std::fs::read_to_string(dir.join("complete"))?.trim()
    );

    let mut seconds: [Vec<f64>; 4] = Default::default();
    for _ in 0..RUNS {
        // DuckDB with 2 threads last: its cell counts are the ones compared.
        seconds[0].push(time_process(&dir, 1)?);
        seconds[1].push(time_duckdb(&dir, 1)?);
        seconds[2].push(time_process(&dir, 2)?);
        seconds[3].push(time_duckdb(&dir, 2)?);
    }
    let [ours_1, duck_1, ours_2, duck] = seconds.map(median);
    let (ours_grids, ours_depths) = our_results(&store, date).await?;
    let (duck_grids, duck_depths) = duckdb_results(&dir)?;
    compare("grid cells", &ours_grids, &duck_grids)?;
    compare("scroll-depth buckets", &ours_depths, &duck_depths)?;
    println!(
        "same results: {} grid cells, {} scroll-depth buckets",
        ours_grids.len(),
        ours_depths.len()
    );
    println!("heatpipe process, 2 threads: {ours_2:.3} s");
    println!("heatpipe process, 1 thread:  {ours_1:.3} s");
    println!("DuckDB, 2 threads:           {duck:.3} s");
    println!("DuckDB, 1 thread:            {duck_1:.3} s");
    println!("DuckDB / heatpipe (2 threads): {:.2}x", duck / ours_2);
    println!("heatpipe 1 thread / 2 threads: {:.2}x", ours_1 / ours_2);
    println!("DuckDB 1 thread / 2 threads:   {:.2}x", duck_1 / duck);
    Ok(())
}

/// Writes the day's Parquet file a batch of sessions at a time, then its chunks as one
/// collector at its default seal age would have stored the day: batches in arrival order,
/// concurrent sessions interleaved, long visits spread over several chunks.
async fn generate_day(
    store: &LocalStore,
    dir: &Path,
    events: u64,
    segment_tags: &[String],
) -> anyhow::Result<()> {
    let start = date_start_ms(parse_date(BENCH_DATE)?);
    let spec = TrafficSpec {
        seed: 2026,
        origin: "https://bench.example".into(),
        num_sessions: usize::MAX,
        // Sessions start by 20:00 UTC, so every page view (and event) belongs to the bench day
        // in both the chunks and the Parquet file.
        window_ms: start..start + 20 * 3_600_000,
    };
    let mut parquet = ParquetEventsWriter::create(&dir.join("events.parquet"), 3, segment_tags)?;
    let (mut written, mut batch) = (0u64, 0usize);
    let mut day = Vec::new();
    while written < events {
        let first = batch * SESSIONS_PER_BATCH;
        let streams: Vec<_> = (first..first + SESSIONS_PER_BATCH)
            .flat_map(|index| generate_session(&spec, index))
            .collect();
        written += streams.iter().map(|s| s.num_events() as u64).sum::<u64>();
        parquet.write(&streams)?;
        day.extend(streams);
        batch += 1;
        eprintln!("generated {written} events");
    }
    let rows = parquet.close()?;
    eprintln!("Parquet rows (events and one per batch): {rows}");
    let seal_age_ms = bench_seal_age_ms();
    let keys = write_sealed_chunks(store, BENCH_SITE, "gen", &mut day, seal_age_ms).await?;
    eprintln!(
        "{} chunks, sealed every {} s of arrivals",
        keys.len(),
        seal_age_ms / 1000
    );
    std::fs::write(dir.join("complete"), format!("{written}\n"))?;
    Ok(())
}

/// Runs `heatpipe process` once with `threads` rayon threads; returns its wall seconds.
fn time_process(dir: &Path, threads: usize) -> anyhow::Result<f64> {
    let binary = std::env::var("HEATPIPE_BIN").unwrap_or_else(|_| "target/dist/heatpipe".into());
    let started = Instant::now();
    let output = Command::new(&binary)
        .args([
            "process", "--site", BENCH_SITE, "--date", BENCH_DATE, "--store",
        ])
        .arg(dir.join("store"))
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("TOKIO_WORKER_THREADS", threads.to_string())
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("running {binary}"))?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(
        output.status.success(),
        "heatpipe process failed: {output:?}"
    );
    eprintln!(
        "heatpipe ({threads} threads): {}",
        String::from_utf8_lossy(&output.stdout).trim()
    );
    Ok(seconds)
}

/// Runs the DuckDB queries once with `threads` threads; returns their wall seconds.
fn time_duckdb(dir: &Path, threads: usize) -> anyhow::Result<f64> {
    let output = Command::new("python3")
        .arg("benches/duckdb_grids.py")
        .arg(dir.join("events.parquet"))
        .arg(dir)
        .arg(threads.to_string())
        .arg("1")
        .output()
        .context("running python3 benches/duckdb_grids.py")?;
    if !output.status.success() {
        bail!(
            "DuckDB side failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    eprintln!("duckdb: {report}");
    report["median"]
        .as_f64()
        .context("no median in DuckDB's report")
}

/// Our cell counts and scroll-depth buckets, keyed like the TSV rows DuckDB writes.
async fn our_results(
    store: &LocalStore,
    date: chrono::NaiveDate,
) -> anyhow::Result<(Counts, Counts)> {
    let index = PageIndex::decode(&store.get(&pages_key(BENCH_SITE, date)).await?)?;
    let (mut grids, mut depths) = (Counts::new(), Counts::new());
    for summary in &index.pages {
        let page = PageAgg::decode(
            &store
                .get(&page_agg_key(BENCH_SITE, date, &summary.key))
                .await?,
        )?;
        for (segment, agg) in &page.segments {
            for (kind, grid) in [(0, &agg.move_grid), (1, &agg.click_grid)] {
                for row in 0..grid.rows {
                    for col in 0..grid.cols {
                        let count = grid.get(col, row);
                        if count > 0 {
                            let key = format!("{}\t{segment}\t{kind}\t{col}\t{row}", page.key);
                            grids.insert(key, u64::from(count));
                        }
                    }
                }
            }
            for (bucket, &views) in agg.scroll.deepest_px.iter().enumerate() {
                if views > 0 {
                    depths.insert(format!("{}\t{segment}\t{bucket}", page.key), views);
                }
            }
        }
    }
    debug_assert_eq!(SCROLL_BUCKET_PX, 10, "the DuckDB query buckets by 10 px");
    Ok((grids, depths))
}

fn duckdb_results(dir: &Path) -> anyhow::Result<(Counts, Counts)> {
    let read = |name: &str| -> anyhow::Result<Counts> {
        let text = std::fs::read_to_string(dir.join(name))?;
        text.lines()
            .map(|line| {
                let (key, count) = line.rsplit_once('\t').context("short TSV line")?;
                Ok((key.to_owned(), count.parse()?))
            })
            .collect()
    };
    Ok((read("duckdb-grids.tsv")?, read("duckdb-depths.tsv")?))
}

fn compare(what: &str, ours: &Counts, theirs: &Counts) -> anyhow::Result<()> {
    let differing: Vec<_> = ours
        .iter()
        .filter(|(key, count)| theirs.get(*key) != Some(count))
        .map(|(key, _)| key)
        .chain(theirs.keys().filter(|key| !ours.contains_key(*key)))
        .take(5)
        .collect();
    ensure!(
        differing.is_empty(),
        "{what} differ between heatpipe and DuckDB, e.g. {differing:?}"
    );
    Ok(())
}

//! `heatpipe process` (a day, a range of days, or one shard of a day) and `heatpipe merge`.
//!
//! Exit status: 0 done; 1 the run failed (the store still failing after its retries, a listed
//! chunk gone, an output not written…: the error names the key, and nothing of that day is
//! written); 3 done, but `--strict` was given and some chunks or blocks were skipped as corrupt.

use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use heatpipe_core::keys::{parse_date, validate_site};
use heatpipe_processor::{ProcessSummary, ProgressHook, merge_shards, process_day};

use super::{date_or_yesterday, progress_bar, store_at};
use crate::cli::{MergeArgs, ProcessArgs};
use crate::config::Config;

/// Exit status of a `--strict` run that skipped corrupt data.
pub const STRICT_EXIT_CODE: u8 = 3;

/// The error of a `--strict` run that had to skip chunks or blocks.
#[derive(Debug, thiserror::Error)]
#[error("{0} corrupt chunks or blocks were skipped (--strict)")]
pub struct SkippedData(pub u64);

/// Processes each day asked for and prints one summary line per day.
pub async fn run(args: ProcessArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    let dates = dates_of(&args)?;
    let store = store_at(args.store.as_deref().unwrap_or(&config.store)).await?;
    let mut processor = config.processor.clone();
    if let Some(mib) = args.pass_chunk_mib {
        processor.pass_chunk_mib = mib;
    }
    if let Some(dir) = &args.spill_dir {
        processor.spill_dir = Some(dir.clone());
    }
    if !args.segment_tags.is_empty() {
        processor.segment_tags = args.segment_tags.clone();
    }
    let mut skipped = 0;
    for date in dates {
        let mut options = processor.options(&args.site, date);
        options.shard = args.shard;
        options.compact_replay = true;
        let bar = progress_bar(&format!("{} {date}", args.site), "chunks");
        if let Some(bar) = &bar {
            let bar = bar.clone();
            options.progress = Some(ProgressHook(Arc::new(move |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })));
        }
        let summary = process_day(store.clone(), &options)
            .await
            .with_context(|| format!("processing {} for {date}", args.site))?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        skipped += report(&args.site, date, &summary, args.shard);
    }
    if args.strict && skipped > 0 {
        return Err(SkippedData(skipped).into());
    }
    Ok(())
}

/// Merges a sharded day's partials and prints the summary line.
pub async fn merge(args: MergeArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    anyhow::ensure!(args.shards > 0, "--shards must be at least 1");
    let date = date_or_yesterday(args.date.as_deref())?;
    let store = store_at(args.store.as_deref().unwrap_or(&config.store)).await?;
    let mut processor = config.processor.clone();
    if let Some(mib) = args.pass_mib {
        processor.pass_chunk_mib = mib;
    }
    if let Some(dir) = &args.spill_dir {
        processor.spill_dir = Some(dir.clone());
    }
    let options = processor.merge_options();
    let summary = merge_shards(store, &args.site, date, args.shards, &options)
        .await
        .with_context(|| format!("merging {} shards of {} for {date}", args.shards, args.site))?;
    println!(
        "{} {date}: merged {} shards: {}",
        args.site,
        args.shards,
        summary.line()
    );
    Ok(())
}

/// Prints what a run did; returns how much it skipped.
fn report(
    site: &str,
    date: NaiveDate,
    summary: &ProcessSummary,
    shard: Option<heatpipe_processor::Shard>,
) -> u64 {
    for (key, reason) in &summary.skipped {
        eprintln!("skipped {key}: {reason}");
    }
    match shard {
        Some(shard) => println!("{site} {date} shard {shard}: {}", summary.line()),
        None => println!("{site} {date}: {}", summary.line()),
    }
    summary.chunks_skipped + summary.blocks_skipped
}

/// The days to process: `--date`, or every day from `--from` to `--to`.
fn dates_of(args: &ProcessArgs) -> anyhow::Result<Vec<NaiveDate>> {
    let (Some(from), Some(to)) = (&args.from, &args.to) else {
        return Ok(vec![date_or_yesterday(args.date.as_deref())?]);
    };
    let from = parse_date(from).context("--from")?;
    let to = parse_date(to).context("--to")?;
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    anyhow::ensure!(
        args.shard.is_none() || from == to,
        "--shard processes a single day"
    );
    Ok(from.iter_days().take_while(|day| *day <= to).collect())
}

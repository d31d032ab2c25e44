//! `heatpipe retention`: deletes the days past each lane's limit and prints them, one line per
//! lane, site and day. The work is `heatpipe_processor::retention`'s; this parses and prints.

use anyhow::Context;
use heatpipe_processor::retention::{RetentionConfig, RetentionReport, apply_retention};

use super::store_at;
use crate::cli::RetentionArgs;
use crate::config::Config;

/// Applies the configured retention (flags over the configuration) to `--store` as of today
/// (UTC), and prints what was deleted.
pub async fn run(args: RetentionArgs, config: Config) -> anyhow::Result<()> {
    let retention = RetentionConfig {
        raw_days: args.raw_days.unwrap_or(config.retention.raw_days),
        sessions_days: args.sessions_days.unwrap_or(config.retention.sessions_days),
        aggregates_days: args
            .aggregates_days
            .unwrap_or(config.retention.aggregates_days),
    };
    let location = args.store.unwrap_or(config.store);
    let store = store_at(&location).await?;
    let today = chrono::Utc::now().date_naive();
    let report = apply_retention(store.as_ref(), &retention, today, args.dry_run)
        .await
        .with_context(|| format!("applying retention to {location}"))?;
    print!("{}", report_lines(&report));
    eprintln!("{}", summary_line(&report, &retention, today));
    Ok(())
}

/// One line per expired day: `deleted raw shop 2026-10-01 objects=12` (`would delete` in a dry
/// run).
pub fn report_lines(report: &RetentionReport) -> String {
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    report
        .days
        .iter()
        .map(|day| {
            format!(
                "{verb} {} {} {} objects={}\n",
                day.lane.as_str(),
                day.site,
                day.date,
                day.num_objects
            )
        })
        .collect()
}

/// The closing line: the limits applied and the totals.
fn summary_line(
    report: &RetentionReport,
    retention: &RetentionConfig,
    today: chrono::NaiveDate,
) -> String {
    let verb = if report.dry_run {
        "dry run, would delete"
    } else {
        "deleted"
    };
    format!(
        "retention on {today} (raw/replay/partial {} days, sessions {} days, agg {} days): {verb} {} objects in {} lane-days",
        retention.raw_days,
        retention.sessions_days,
        retention.aggregates_days,
        report.num_objects(),
        report.days.len()
    )
}

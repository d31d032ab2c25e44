//! Periodic processing inside `serve` and `demo`: every few seconds, today's data of every site
//! configured in or seen by the collector is processed again, so new clicks reach the heatmaps
//! without a separate batch job. The day before is processed once more after midnight. And once
//! a day, retention deletes the days past their limits.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use heatpipe_collector::Collector;
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::{ProcessorConfig, RetentionConfig, apply_retention, process_day};

/// Processes today (and yesterday, once, after the date changes) every `every`, until the task
/// is aborted.
pub async fn process_periodically(
    store: Arc<dyn ObjectStore>,
    collector: Arc<Collector>,
    processor: ProcessorConfig,
    every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let mut last_date = chrono::Utc::now().date_naive();
    loop {
        ticker.tick().await;
        let today = chrono::Utc::now().date_naive();
        let mut dates = vec![today];
        if last_date != today {
            dates.insert(0, last_date);
            last_date = today;
        }
        let active: BTreeSet<String> = collector
            .admission
            .site_ids()
            .into_iter()
            .chain(collector.sites_seen())
            .collect();
        for site in &active {
            for date in &dates {
                let mut options = processor.options(site, *date);
                // A day that has ended is compacted once, in its last pass.
                options.compact_replay = *date != today;
                match process_day(store.clone(), &options).await {
                    Ok(summary) => {
                        tracing::info!(%site, %date, summary = %summary.line(), "processed")
                    }
                    Err(err) => {
                        tracing::warn!(%site, %date, error = %err, "periodic processing failed")
                    }
                }
            }
        }
    }
}

/// The UTC hour at which `serve` applies retention every day: after midnight's reprocessing of
/// the day before, before the nightly batch jobs usually start.
pub const RETENTION_HOUR_UTC: u32 = 1;

/// Applies `retention` to `store` every day at [`RETENTION_HOUR_UTC`], until the task is
/// aborted. Replicas that all do it delete the same keys; deleting a missing key is no error.
pub async fn apply_retention_daily(store: Arc<dyn ObjectStore>, retention: RetentionConfig) {
    loop {
        tokio::time::sleep(until_next_run(chrono::Utc::now())).await;
        let today = chrono::Utc::now().date_naive();
        match apply_retention(store.as_ref(), &retention, today, false).await {
            Ok(report) => tracing::info!(
                %today,
                num_objects = report.num_objects(),
                num_lane_days = report.days.len(),
                "applied retention"
            ),
            Err(err) => tracing::warn!(%today, error = %err, "retention failed"),
        }
    }
}

/// Returns how long from `now` until the next [`RETENTION_HOUR_UTC`]:00 UTC.
fn until_next_run(now: chrono::DateTime<chrono::Utc>) -> Duration {
    let today_run = now
        .date_naive()
        .and_hms_opt(RETENTION_HOUR_UTC, 0, 0)
        .map(|time| time.and_utc());
    let next = match today_run {
        Some(run) if run > now => run,
        Some(run) => run + chrono::Duration::days(1),
        None => now + chrono::Duration::days(1),
    };
    (next - now).to_std().unwrap_or(Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_runs_at_the_next_one_o_clock_utc() {
        let at = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&chrono::Utc)
        };
        assert_eq!(
            until_next_run(at("2026-12-04T00:30:00Z")),
            Duration::from_secs(1_800)
        );
        assert_eq!(
            until_next_run(at("2026-12-04T01:00:00Z")),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            until_next_run(at("2026-12-04T19:00:00Z")),
            Duration::from_secs(6 * 3_600)
        );
    }
}

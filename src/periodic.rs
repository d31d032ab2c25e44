//! Periodic processing inside `serve` and `demo`: every few seconds, today's data of every site
//! configured in or seen by the collector is processed again, so new clicks reach the heatmaps
//! without a separate batch job. The day before is processed once more after midnight.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use heatpipe_collector::Collector;
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::{ProcessorConfig, process_day};

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
                match process_day(store.clone(), &processor.options(site, *date)).await {
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

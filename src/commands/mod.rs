//! One module per subcommand; each takes its parsed flags and the loaded configuration.

pub mod demo;
pub mod export;
pub mod fixtures;
pub mod forget;
pub mod process;
pub mod render;
pub mod retention;
pub mod serve;
pub mod snapshot;
pub mod token;

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use heatpipe_core::keys::{parse_date, validate_site};
use heatpipe_io::store::{ObjectStore, StoreLocation, open_store};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::StoredDay;
use crate::config::Config;

/// Opens the store named by `--store` (or the configuration), as every command does: through
/// [`open_store`], so that its operations are retried by a `RetryStore` when the store times out
/// or is unavailable.
pub async fn store_at(location: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let parsed = StoreLocation::parse(location)
        .map_err(anyhow::Error::msg)
        .context("--store")?;
    open_store(&parsed)
        .await
        .with_context(|| format!("opening store {location}"))
}

/// Parses `--date`, defaulting to yesterday (UTC).
pub fn date_or_yesterday(date: Option<&str>) -> anyhow::Result<NaiveDate> {
    match date {
        Some(value) => parse_date(value).context("--date"),
        None => Ok(chrono::Utc::now().date_naive() - chrono::Days::new(1)),
    }
}

/// Checks `day`'s site and opens its store (the configured one unless `--store` names one);
/// returns the store and the day.
pub async fn open_day(
    day: &StoredDay,
    config: &Config,
) -> anyhow::Result<(Arc<dyn ObjectStore>, NaiveDate)> {
    validate_site(&day.site).context("--site")?;
    let date = date_or_yesterday(day.date.as_deref())?;
    let store = store_at(day.store.as_deref().unwrap_or(&config.store)).await?;
    Ok((store, date))
}

/// A progress bar on stderr counting `unit`, only when stderr is a terminal.
pub fn progress_bar(label: &str, unit: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(&format!(
        "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{elapsed}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(label.to_owned());
    Some(bar)
}

/// Resolves when the process gets Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests and storing buffered batches");
}

//! `heatpipe process --store S --site SITE --date D`.

use anyhow::Context;
use heatpipe_core::keys::validate_site;
use heatpipe_processor::{ProcessOptions, process_day};

use super::{date_or_yesterday, store_at};
use crate::cli::ProcessArgs;
use crate::config::Config;

/// Processes one day and prints the one-line summary.
pub async fn run(args: ProcessArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    let date = date_or_yesterday(args.date.as_deref())?;
    let store = store_at(args.store.as_deref().unwrap_or(&config.store)).await?;
    let summary = process_day(store, &ProcessOptions::new(&args.site, date))
        .await
        .with_context(|| format!("processing {} for {date}", args.site))?;
    for (key, reason) in &summary.skipped {
        eprintln!("skipped {key}: {reason}");
    }
    println!("{} {date}: {}", args.site, summary.line());
    Ok(())
}

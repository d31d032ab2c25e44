//! `heatpipe export --store S --site SITE --date D --out DIR_OR_S3`: the day's sessions and
//! page views as Parquet (`{out}/{site}/{date}/sessions.parquet`, `page_views.parquet`), for a
//! CRM or a warehouse to join with its customer records. Prints one line per file written.

use anyhow::Context;
use heatpipe_export::export_day;

use super::{open_day, store_at};
use crate::cli::ExportArgs;
use crate::config::Config;

/// Exports the day; fails (exit 1) when the day was not processed or the store fails.
pub async fn run(args: ExportArgs, config: Config) -> anyhow::Result<()> {
    let (store, date) = open_day(&args.day, &config).await?;
    let site = &args.day.site;
    let out = store_at(&args.out).await.context("--out")?;
    let exported = export_day(store.as_ref(), site, date, out.as_ref())
        .await
        .with_context(|| format!("exporting {} {date}", site))?;
    println!(
        "{} {date}: {} sessions, {} page views",
        site, exported.sessions, exported.page_views
    );
    for (key, len) in &exported.files {
        println!("  {}/{key} ({len} bytes)", args.out.trim_end_matches('/'));
    }
    Ok(())
}

//! `heatpipe snapshot --store S --site SITE (--url URL… | --date D) [--width W…]`: full-page
//! screenshots with headless Chromium, stored where `composite=1` and `render` find them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use heatpipe_core::keys::{snapshot_key, validate_site};
use heatpipe_core::page::{normalize_url, page_key};
use heatpipe_io::store::ObjectStore;
use heatpipe_renderer::data::load_index;
use heatpipe_renderer::snapshot::{SnapshotOptions, capture};
use indicatif::ProgressBar;

use super::{date_or_yesterday, progress_bar, store_at};
use crate::cli::SnapshotArgs;
use crate::config::Config;

/// Takes and stores every screenshot asked for; fails if any could not be taken.
pub async fn run(args: SnapshotArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    let store = store_at(args.store.as_deref().unwrap_or(&config.store)).await?;
    let urls = urls_to_capture(&args, &store).await?;
    let widths = if args.width.is_empty() {
        vec![1280]
    } else {
        args.width.clone()
    };
    let bar = progress_bar(&args.site, "screenshots");
    if let Some(bar) = &bar {
        bar.set_length((urls.len() * widths.len()) as u64);
    }
    let mut failed = 0usize;
    for url in &urls {
        let normalized = normalize_url(url, false).with_context(|| format!("--url {url}"))?;
        let key = page_key(&normalized);
        for &width in &widths {
            anyhow::ensure!(
                (240..=4096).contains(&width),
                "--width {width}: from 240 to 4096 px"
            );
            let options = SnapshotOptions {
                chromium: args.chromium.clone(),
                timeout: Duration::from_secs(args.timeout_s),
                ..SnapshotOptions::new(width)
            };
            match capture(url, &options).await {
                Ok(shot) => {
                    let object = snapshot_key(&args.site, &key, width);
                    store
                        .put(&object, Bytes::from(shot.png))
                        .await
                        .with_context(|| format!("storing {object}"))?;
                    let message = format!(
                        "{url} at {width} px: {width}×{} px in {object}",
                        shot.height_px
                    );
                    say(bar.as_ref(), message);
                }
                Err(err) => {
                    failed += 1;
                    eprintln!("{url} at {width} px: {err}");
                }
            }
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    anyhow::ensure!(failed == 0, "{failed} screenshots could not be taken");
    Ok(())
}

/// The pages to capture: `--url` as given, or else every page of `--date`'s page index.
async fn urls_to_capture(
    args: &SnapshotArgs,
    store: &Arc<dyn ObjectStore>,
) -> anyhow::Result<Vec<String>> {
    if !args.url.is_empty() {
        return Ok(args.url.clone());
    }
    let date = date_or_yesterday(args.date.as_deref())?;
    Ok(load_index(store, &args.site, &[date])
        .await
        .context("loading the page index")?
        .pages
        .into_iter()
        .map(|page| page.url)
        .collect())
}

/// Prints `message` above the progress bar when there is one, on stdout otherwise.
fn say(bar: Option<&ProgressBar>, message: String) {
    match bar {
        Some(bar) => bar.println(message),
        None => println!("{message}"),
    }
}

//! `heatpipe render --store S --site SITE --date D --out DIR_OR_S3`: every page × kind × device
//! image of a day, for reports: `{out}/{site}/{date}/{page_key}/{kind}-{device}.png`, plus
//! `{kind}-{device}-composite.png` over the page's stored screenshot when it has one, and
//! `pages.json`. The output is a folder or an `s3://bucket/prefix`, written through the same
//! stores as the data, so writes are atomic and a rerun overwrites the same objects.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use heatpipe_core::agg::{PageAgg, PageSummary};
use heatpipe_core::event::DeviceClass;
use heatpipe_core::segment::SegmentFilter;
use heatpipe_io::store::ObjectStore;
use heatpipe_renderer::composite::{
    Snapshot, composite_png, decode_snapshot, nearest_snapshot_key,
};
use heatpipe_renderer::data::{load_index, load_page};
use heatpipe_renderer::render::{HeatmapKind, HeatmapRequest, page_size, render_segment_image};

use super::{open_day, progress_bar, store_at};
use crate::cli::RenderArgs;
use crate::config::Config;

/// Renders and writes every image of the day; prints how many.
pub async fn run(args: RenderArgs, config: Config) -> anyhow::Result<()> {
    let (store, date) = open_day(&args.day, &config).await?;
    let site = &args.day.site;
    let out = store_at(&args.out).await.context("--out")?;
    let days = [date];
    let index = load_index(&store, site, &days)
        .await
        .context("loading the page index")?;
    let prefix = format!("{}/{date}", site);
    let bar = progress_bar(&prefix, "pages");
    if let Some(bar) = &bar {
        bar.set_length(index.pages.len() as u64);
    }
    let (mut overlays, mut composites) = (0usize, 0usize);
    for page in &index.pages {
        let Some(loaded) = load_page(&store, site, &days, &page.key)
            .await
            .with_context(|| format!("loading page {}", page.url))?
        else {
            continue;
        };
        let width = page_size(&loaded.agg.combined(|_| true), None).0;
        let snapshot = nearest_snapshot(&store, site, &page.key, width).await?;
        let agg = loaded.agg;
        let images = tokio::task::spawn_blocking(move || page_images(&agg, snapshot.as_ref()))
            .await?
            .with_context(|| format!("rendering {}", page.url))?;
        for (name, png, composite) in images {
            let key = format!("{prefix}/{}/{name}", page.key);
            out.put(&key, Bytes::from(png))
                .await
                .with_context(|| format!("writing {key}"))?;
            if composite {
                composites += 1;
            } else {
                overlays += 1;
            }
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    write_listing(&out, &prefix, &index.pages).await?;
    println!(
        "{prefix}: {overlays} overlays and {composites} composites of {} pages in {}",
        index.pages.len(),
        args.out
    );
    Ok(())
}

/// Returns the stored screenshot of page `page_key` nearest `width` px wide, if there is one
/// (an unreadable screenshot is skipped with a warning, a store error is returned).
async fn nearest_snapshot(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    page_key: &str,
    width: u32,
) -> anyhow::Result<Option<Snapshot>> {
    let Some(key) = nearest_snapshot_key(store, site, page_key, width).await? else {
        return Ok(None);
    };
    let bytes = store
        .get(&key)
        .await
        .with_context(|| format!("reading {key}"))?;
    match decode_snapshot(&key, &bytes) {
        Ok(snapshot) => Ok(Some(snapshot)),
        Err(err) => {
            tracing::warn!(key, error = %err, "skipping an unreadable screenshot");
            Ok(None)
        }
    }
}

/// Every image of one page: (file name, PNG, whether it is a composite).
fn page_images(
    agg: &PageAgg,
    snapshot: Option<&Snapshot>,
) -> anyhow::Result<Vec<(String, Vec<u8>, bool)>> {
    let devices: Vec<Option<DeviceClass>> = std::iter::once(None)
        .chain(
            DeviceClass::ALL
                .into_iter()
                .filter(|d| {
                    let filter = SegmentFilter::default().with("device", d.as_str());
                    agg.segments.keys().any(|key| filter.matches(key))
                })
                .map(Some),
        )
        .collect();
    let mut images = Vec::new();
    for kind in HeatmapKind::ALL {
        for device in &devices {
            let request = HeatmapRequest {
                device: *device,
                ..HeatmapRequest::new(kind)
            };
            let name = format!(
                "{}-{}",
                kind.as_str(),
                device.map_or("all", DeviceClass::as_str)
            );
            let segment = request.segment_of(agg);
            let overlay = render_segment_image(&segment, &request)
                .with_context(|| format!("drawing {name}"))?;
            images.push((format!("{name}.png"), overlay.encode_png()?, false));
            if let Some(snapshot) = snapshot {
                // Drawn at the screenshot's layout width, so the overlay lines up with it; the
                // page's own overlay serves when the widths agree.
                let overlay = if overlay.width_px == snapshot.width_px {
                    overlay
                } else {
                    let at_snapshot = HeatmapRequest {
                        width_px: Some(snapshot.width_px),
                        ..request.clone()
                    };
                    render_segment_image(&segment, &at_snapshot)?
                };
                images.push((
                    format!("{name}-composite.png"),
                    composite_png(&overlay, snapshot)?,
                    true,
                ));
            }
        }
    }
    Ok(images)
}

async fn write_listing(
    out: &Arc<dyn ObjectStore>,
    prefix: &str,
    pages: &[PageSummary],
) -> anyhow::Result<()> {
    let listing: Vec<_> = pages
        .iter()
        .map(|p| serde_json::json!({"url": p.url, "key": p.key, "views": p.views, "clicks": p.clicks, "sessions": p.sessions}))
        .collect();
    let key = format!("{prefix}/pages.json");
    out.put(&key, Bytes::from(serde_json::to_vec_pretty(&listing)?))
        .await
        .with_context(|| format!("writing {key}"))
}

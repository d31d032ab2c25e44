//! `heatpipe render --store S --site SITE --date D --out DIR`: every page × kind × device image
//! of a day, for reports, at `DIR/{site}/{date}/{page_key}/{kind}-{device}.png`.

use anyhow::Context;
use heatpipe_core::event::DeviceClass;
use heatpipe_core::keys::validate_site;
use heatpipe_core::segment::SegmentFilter;
use heatpipe_renderer::data::{load_index, load_page};
use heatpipe_renderer::render::{HeatmapKind, HeatmapRequest, render_segment_png};

use super::{date_or_yesterday, store_at};
use crate::cli::RenderArgs;
use crate::config::Config;

/// Renders and writes every image of the day; prints how many.
pub async fn run(args: RenderArgs, config: Config) -> anyhow::Result<()> {
    validate_site(&args.site).context("--site")?;
    let date = date_or_yesterday(args.date.as_deref())?;
    let store = store_at(args.store.as_deref().unwrap_or(&config.store)).await?;
    let days = [date];
    let index = load_index(&store, &args.site, &days)
        .await
        .context("loading the page index")?;
    let folder = args.out.join(&args.site).join(date.to_string());
    let mut written = 0usize;
    for page in &index.pages {
        let Some(loaded) = load_page(&store, &args.site, &days, &page.key)
            .await
            .with_context(|| format!("loading page {}", page.url))?
        else {
            continue;
        };
        let page_folder = folder.join(&page.key);
        std::fs::create_dir_all(&page_folder)
            .with_context(|| format!("creating {}", page_folder.display()))?;
        let devices: Vec<Option<DeviceClass>> = std::iter::once(None)
            .chain(
                DeviceClass::ALL
                    .into_iter()
                    .filter(|d| {
                        let filter = SegmentFilter::default().with("device", d.as_str());
                        loaded.agg.segments.keys().any(|key| filter.matches(key))
                    })
                    .map(Some),
            )
            .collect();
        let agg = loaded.agg;
        let images = tokio::task::spawn_blocking(move || {
            let mut images = Vec::new();
            for kind in HeatmapKind::ALL {
                for device in &devices {
                    let request = HeatmapRequest {
                        device: *device,
                        ..HeatmapRequest::new(kind)
                    };
                    let name = format!(
                        "{}-{}.png",
                        kind.as_str(),
                        device.map_or("all", DeviceClass::as_str)
                    );
                    images.push((
                        name,
                        render_segment_png(&request.segment_of(&agg), &request),
                    ));
                }
            }
            images
        })
        .await?;
        for (name, png) in images {
            let png = png.with_context(|| format!("rendering {name} of {}", page.url))?;
            std::fs::write(page_folder.join(&name), png)
                .with_context(|| format!("writing {name}"))?;
            written += 1;
        }
    }
    let listing: Vec<_> = index.pages.iter().map(|p| serde_json::json!({"url": p.url, "key": p.key, "views": p.views, "clicks": p.clicks})).collect();
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        folder.join("pages.json"),
        serde_json::to_vec_pretty(&listing)?,
    )?;
    println!(
        "{} {date}: {written} images of {} pages in {}",
        args.site,
        index.pages.len(),
        folder.display()
    );
    Ok(())
}

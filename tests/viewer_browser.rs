//! The viewer in real headless Chromium (playwright-core, `tests/browser/viewer.mjs`) on a
//! processed, seeded demo day: the heatmap overlay is hot over the most clicked element of the
//! live page, the attention map is offered and drawn with its legend in seconds per view, and
//! the replay player advances and shows exactly the session's clicks. Then
//! `heatpipe snapshot`'s capture (our own DevTools client) stores a screenshot, and
//! `composite=1` draws the overlay over it. Screenshots of each step are kept in
//! `target/browser-screenshots/`.

mod common;

use std::time::Duration;

use bytes::Bytes;
use heatpipe_core::keys::{date_start_ms, snapshot_key};
use heatpipe_core::page::page_key;
use heatpipe_core::session::SessionIndex;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_processor::process_day;
use heatpipe_renderer::snapshot::{SnapshotOptions, capture};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_draws_heatmaps_over_the_page_and_replays_sessions_in_chromium() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (server, store, config) = common::demo_server(folder.path()).await;
    let origin = server.url();
    let today = chrono::Utc::now().date_naive();
    let start = date_start_ms(today);
    let streams = generate_traffic(&TrafficSpec {
        seed: 7,
        origin: origin.clone(),
        num_sessions: 120,
        window_ms: start..start + 3_600_000,
    });
    write_chunks(store.as_ref(), "demo", "synthetic", &streams, 200)
        .await
        .expect("chunks");
    process_day(store.clone(), &config.processor.options("demo", today))
        .await
        .expect("process");

    let shots = common::screenshot_folder();
    let done = common::run_script(
        "viewer.mjs",
        vec![origin.clone(), shots.display().to_string()],
    )
    .await;
    assert!(
        done.get("page_errors").is_none(),
        "no script errors: {done}"
    );

    // Heatmap: hot and red over the top element, clear over most of the page.
    let heatmap = &done["heatmap"];
    assert_eq!(heatmap["top_selector"], "#start-trial", "{heatmap}");
    let rgba: Vec<u64> = heatmap["rgba"]
        .as_array()
        .expect("rgba")
        .iter()
        .map(|v| v.as_u64().expect("byte"))
        .collect();
    assert!(
        rgba[3] >= 150 && rgba[0] >= 200 && rgba[2] <= 80,
        "the overlay over the most clicked element is strong red: {rgba:?}"
    );
    assert!(
        heatmap["clear_share"].as_f64().expect("share") > 0.6,
        "most of the page stays clear: {heatmap}"
    );
    assert_eq!(
        heatmap["width"], heatmap["frame_width"],
        "overlay as wide as the page"
    );

    // Attention: the kind is offered and drawn; the legend's scale is the API's peak, in seconds
    // per view; the most seen band is the ramp's top colour and rows below the last seen clear.
    let attention = &done["attention"];
    let peak = attention["api_peak"].as_f64().expect("peak");
    assert!(peak > 0.0, "{attention}");
    assert_eq!(attention["legend_peak"].as_f64(), Some(peak), "{attention}");
    let legend = attention["legend"].as_str().expect("legend");
    assert!(
        legend.contains(&format!("{peak:.1} s per view")),
        "{legend}"
    );
    let palette = heatpipe_renderer::png::Palette::parse(attention["palette"].as_str())
        .expect("the viewer's palette");
    let top = palette.colour(1.0);
    let peak_rgba: Vec<u64> = attention["peak_rgba"]
        .as_array()
        .expect("rgba")
        .iter()
        .map(|v| v.as_u64().expect("byte"))
        .collect();
    assert!(
        peak_rgba[3] > 100
            && peak_rgba[..3]
                .iter()
                .zip(top)
                .all(|(got, want)| got.abs_diff(u64::from(want)) <= 2),
        "the most seen band is the ramp's top {top:?}: {attention}"
    );
    if let Some(below) = attention["below_rgba"].as_array() {
        assert_eq!(
            below[3], 0,
            "below the lowest band in view: clear ({attention})"
        );
    }

    // Replay: it advanced while playing, and at the end it had shown every click of the session.
    let replay = &done["replay"];
    let (t0, t1) = (
        replay["t0"].as_f64().expect("t0"),
        replay["t1"].as_f64().expect("t1"),
    );
    assert!(
        t1 > t0 + 1_000.0,
        "1.5 s at 8× moves the replay on: {replay}"
    );
    let index = SessionIndex::decode(
        &store
            .get(&heatpipe_core::keys::session_index_key("demo", today))
            .await
            .expect("index"),
    )
    .expect("decode");
    let session = index
        .sessions
        .iter()
        .find(|s| s.id == replay["session"])
        .expect("the replayed session is indexed");
    assert_eq!(replay["end"]["shown"].as_u64(), Some(session.num_clicks));
    assert_eq!(replay["listed_clicks"].as_u64(), Some(session.num_clicks));
    let click = &replay["click"];
    assert!(
        click["ring_pixels"].as_u64().expect("ring") >= 8,
        "a ripple is drawn around the click 100 ms after it: {click}"
    );
    assert!(
        replay["end"]["marker_items"].as_u64().expect("items") > 0,
        "markers are listed: {replay}"
    );

    // The element table lists each element once, even after two controls changed at once.
    let rows: Vec<&str> = done["elements"]
        .as_array()
        .expect("element rows")
        .iter()
        .map(|r| r.as_str().expect("selector"))
        .collect();
    let mut unique = rows.clone();
    unique.sort_unstable();
    unique.dedup();
    assert!(!rows.is_empty(), "the element table is filled");
    assert_eq!(
        unique.len(),
        rows.len(),
        "no element listed twice: {rows:?}"
    );

    // The dashboard shows the API's figures, draws the trend, and a figure opens its sessions.
    let dashboard = &done["dashboard"];
    let api = &dashboard["api"];
    assert_eq!(api["sessions"].as_u64(), Some(index.sessions.len() as u64));
    assert_eq!(dashboard["cards"]["sessions"], api["sessions"].to_string());
    assert_eq!(
        dashboard["cards"]["page_views"],
        api["page_views"].to_string()
    );
    let per_day: Vec<&Value> = api["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| &d["sessions"])
        .collect();
    let drawn: Vec<&Value> = dashboard["trend"]["ys"]
        .as_array()
        .expect("trend")
        .iter()
        .collect();
    assert_eq!(drawn, per_day, "the trend plots the sessions of each day");
    assert!(
        dashboard["coloured_chart_pixels"].as_u64().expect("pixels") > 50,
        "uPlot drew the line: {dashboard}"
    );
    assert_eq!(
        dashboard["table_rows"].as_u64(),
        api["pages"].as_array().map(|p| p.len() as u64)
    );
    let raging = index
        .sessions
        .iter()
        .filter(|s| s.frustration.rage_clicks > 0)
        .count() as u64;
    assert!(raging > 0, "the generated traffic rage-clicks");
    assert_eq!(dashboard["rage_sessions"]["api"].as_u64(), Some(raging));
    assert_eq!(dashboard["rage_sessions"]["listed"].as_u64(), Some(raging));

    // The funnel: two bars in proportion, and the drop-off's sessions listed.
    let funnel = &done["funnel"];
    let landed = index
        .sessions
        .iter()
        .filter(|s| s.page_views.iter().any(|v| v.url.ends_with("/demo/")))
        .count() as u64;
    assert_eq!(funnel["api"]["steps"][0]["sessions"].as_u64(), Some(landed));
    let widths: Vec<f64> = funnel["widths"]
        .as_array()
        .expect("widths")
        .iter()
        .map(|w| w.as_f64().expect("width"))
        .collect();
    let second = funnel["api"]["steps"][1]["from_first"]
        .as_f64()
        .expect("conversion");
    assert!(
        (widths[1] - widths[0] * second).abs() <= 2.0,
        "the second bar is {second} of the first: {widths:?}"
    );
    assert_eq!(funnel["drops"], 1);
    let dropped = &funnel["dropped"];
    assert!(!dropped["api"].as_array().expect("dropped").is_empty());
    assert_eq!(
        dropped["listed"], dropped["api"],
        "the drop-off lists its sessions"
    );

    // A screenshot of the demo page, then the overlay composited over it.
    let page_url = format!("{origin}/demo/");
    let shot = capture(
        &page_url,
        &SnapshotOptions {
            timeout: Duration::from_secs(60),
            ..SnapshotOptions::new(1280)
        },
    )
    .await
    .expect("screenshot");
    let screenshot = image::load_from_memory(&shot.png).expect("png").to_rgb8();
    assert_eq!(screenshot.width(), 1280);
    assert!(
        screenshot.height() > 1_000,
        "the whole page, not one screen"
    );
    let key = page_key(&page_url);
    store
        .put(
            &snapshot_key("demo", &key, 1280),
            Bytes::from(shot.png.clone()),
        )
        .await
        .expect("store screenshot");
    let response = reqwest::get(format!(
        "{origin}/api/sites/demo/heatmap.png?page={key}&composite=1"
    ))
    .await
    .expect("composite");
    assert_eq!(response.status(), 200);
    let composite = image::load_from_memory(&response.bytes().await.expect("body"))
        .expect("decode")
        .to_rgb8();
    composite
        .save(shots.join("viewer-composite.png"))
        .expect("save composite");
    let (x, y) = (
        heatmap["x"].as_u64().expect("x") as u32,
        heatmap["y"].as_u64().expect("y") as u32,
    );
    let under = screenshot.get_pixel(x, y).0;
    let over = composite.get_pixel(x, y).0;
    assert!(
        over[0] > under[0] + 80 && over[0] >= 200,
        "the hot spot is drawn over the button: {under:?} → {over:?}"
    );
    let (far_x, far_y) = (1_270, screenshot.height() - 5);
    assert_eq!(
        composite.get_pixel(far_x, far_y).0,
        screenshot.get_pixel(far_x, far_y).0,
        "where nobody clicked the page shows through unchanged"
    );
    server.shutdown().await;
}

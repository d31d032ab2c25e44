//! Difference maps (two segments, two date ranges), composites over a stored screenshot, the
//! most clicked elements, and replay timelines with inactivity and markers, through the read API
//! on processed data.

use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date, snapshot_key};
use heatpipe_core::page::page_key;
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::Value;

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";
const EARLIER: &str = "2026-11-20";
const PAGE: &str = "https://shop.example/";

type Api = warp::filters::BoxedFilter<(warp::reply::Response,)>;

/// Clicks at (100, 100) on `#buy` and (500, 1500) on `#footer`, per session, in `variant`.
fn visitor(id: &str, start: i64, variant: &str, buy: bool, footer: bool) -> Vec<Stream> {
    let mut builder = SessionBuilder::new(id, PAGE, start).tag("variant", variant);
    if buy {
        builder = builder.click(1_000, 100, 100, "#buy");
    }
    if footer {
        builder = builder
            .scroll(1_500, 1_000)
            .click(3_000, 500, 1_500, "#footer");
    }
    builder.moves(&[(4_000, 640, 400)]).build()
}

/// Rage clicks, ten idle seconds, a jump to the bottom, then the next page.
fn replayed(start: i64) -> Vec<Stream> {
    SessionBuilder::new("replay", PAGE, start)
        .tag("variant", "A")
        .click(1_000, 100, 100, "#buy")
        .click(1_200, 101, 100, "#buy")
        .click(1_400, 100, 102, "#buy")
        .scroll(15_000, 2_000)
        .next_page("https://shop.example/cart", 20_000)
        .click(500, 300, 300, "#checkout")
        .moves(&[(900, 310, 310)])
        .build()
}

async fn process(store: &Arc<dyn ObjectStore>, date: &str, streams: &[Stream]) {
    write_chunks(store.as_ref(), SITE, &format!("c-{date}"), streams, 4)
        .await
        .expect("chunks");
    process_day(
        store.clone(),
        &ProcessOptions::new(SITE, parse_date(date).expect("date")),
    )
    .await
    .expect("process");
}

/// `count` visitors of `variant` starting `start`, a minute apart, the first `buyers` clicking
/// `#buy` and all of them the footer when `footer`.
fn visitors(
    prefix: &str,
    start: i64,
    count: i64,
    variant: &str,
    buyers: i64,
    footer: bool,
) -> Vec<Stream> {
    (0..count)
        .flat_map(|i| {
            visitor(
                &format!("{prefix}{i}"),
                start + i * 60_000,
                variant,
                i < buyers,
                footer,
            )
        })
        .collect()
}

/// A store holding `today` processed on [`DATE`] and `before` on [`EARLIER`], and the read API
/// over it.
async fn serve_days(today: &[Stream], before: &[Stream]) -> (Api, Arc<dyn ObjectStore>) {
    use warp::Filter;
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::default());
    process(&store, DATE, today).await;
    process(&store, EARLIER, before).await;
    let api = routes(Renderer::new(store.clone(), RendererConfig::default()).on_loopback()).boxed();
    (api, store)
}

fn hour_into(date: &str) -> i64 {
    date_start_ms(parse_date(date).expect("date")) + 3_600_000
}

/// A few sessions: four A visitors on `#buy`, two B visitors on the footer (one also on `#buy`),
/// the replayed session, and three earlier B visitors on the footer.
async fn serve() -> (Api, Arc<dyn ObjectStore>) {
    let start = hour_into(DATE);
    let mut today = visitors("a", start, 4, "A", 4, false);
    today.extend(visitor("b0", start + 300_000, "B", true, true));
    today.extend(visitor("b1", start + 360_000, "B", false, true));
    today.extend(replayed(start + 400_000));
    let before = visitors("e", hour_into(EARLIER), 3, "B", 0, true);
    serve_days(&today, &before).await
}

/// Enough page views for the differences to be significant: 20 A visitors all on `#buy`; 20 B
/// visitors all on the footer, 2 of them also on `#buy`; 20 earlier B visitors on the footer.
async fn serve_for_comparison() -> (Api, Arc<dyn ObjectStore>) {
    let start = hour_into(DATE);
    let mut today = visitors("a", start, 20, "A", 20, false);
    today.extend(visitors("b", start + 30 * 60_000, 20, "B", 2, true));
    let before = visitors("e", hour_into(EARLIER), 20, "B", 0, true);
    serve_days(&today, &before).await
}

async fn get(api: &Api, path: &str, etag: Option<&str>) -> warp::http::Response<Bytes> {
    let mut request = warp::test::request().path(path);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.reply(api).await
}

fn pixel(png: &[u8], x: u32, y: u32) -> [u8; 4] {
    image::load_from_memory(png)
        .expect("png")
        .to_rgba8()
        .get_pixel(x, y)
        .0
}

fn is_red(rgba: [u8; 4]) -> bool {
    rgba[3] > 100 && rgba[0] > 150 && rgba[2] < 100
}

fn is_blue(rgba: [u8; 4]) -> bool {
    rgba[3] > 100 && rgba[2] > 150 && rgba[0] < 100
}

fn heatmap(query: &str) -> String {
    format!(
        "/api/sites/{SITE}/heatmap.png?page={}&kind=click&from={DATE}&to={DATE}&width=800{query}",
        page_key(PAGE)
    )
}

#[tokio::test]
async fn segments_and_ranges_are_compared_per_page_view() {
    let (api, _) = serve_for_comparison().await;
    // A: 20 views, 20 clicks on #buy; B: 20 views, 2 on #buy and 20 on the footer.
    let answer = get(&api, &heatmap("&compare=variant:A,variant:B"), None).await;
    assert_eq!(answer.status(), 200);
    let png = answer.body();
    assert!(is_red(pixel(png, 100, 100)), "#buy: more per view in A");
    assert!(is_blue(pixel(png, 500, 1_500)), "#footer: only B");
    assert_eq!(pixel(png, 700, 700)[3], 0, "nothing anywhere else");

    // Today against the day before: today half the 40 views clicked the footer, before all 20.
    let answer = get(
        &api,
        &heatmap(&format!("&compare_from={EARLIER}&compare_to={EARLIER}")),
        None,
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert!(is_red(pixel(answer.body(), 100, 100)), "#buy: only today");
    assert!(
        is_blue(pixel(answer.body(), 500, 1_500)),
        "#footer: more per view before"
    );

    for (query, message) in [
        ("&compare=variant:A", "two different segments"),
        ("&compare=variant:A,variant:A", "two different segments"),
        (
            &format!("&compare=variant:A,variant:B&compare_from={EARLIER}"),
            "not both",
        ),
        ("&composite=maybe", "composite must be 1 or 0"),
    ] {
        let answer = get(&api, &heatmap(query), None).await;
        assert_eq!(answer.status(), 400, "{query}");
        let body: Value = serde_json::from_slice(answer.body()).expect("json");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn composites_use_the_stored_screenshot_and_change_with_it() {
    let (api, store) = serve().await;
    let missing = get(&api, &heatmap("&composite=1"), None).await;
    assert_eq!(missing.status(), 404);
    assert!(String::from_utf8_lossy(missing.body()).contains("heatpipe snapshot"));

    let put_screenshot = |colour: [u8; 3]| {
        let store = store.clone();
        async move {
            let mut png = Vec::new();
            RgbImage::from_pixel(800, 1_200, Rgb(colour))
                .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
                .expect("png");
            store
                .put(&snapshot_key(SITE, &page_key(PAGE), 800), Bytes::from(png))
                .await
                .expect("put");
        }
    };
    put_screenshot([200, 200, 200]).await;
    let first = get(&api, &heatmap("&composite=1"), None).await;
    assert_eq!(first.status(), 200);
    let image = image::load_from_memory(first.body())
        .expect("png")
        .to_rgb8();
    assert_eq!(image.width(), 800);
    assert!(image.height() >= 1_500, "as tall as the clicks reach");
    assert_eq!(
        image.get_pixel(700, 700).0,
        [200, 200, 200],
        "the page shows through"
    );
    assert_eq!(
        image.get_pixel(700, 1_400).0,
        [255, 255, 255],
        "white below the screenshot"
    );
    let hot = image.get_pixel(100, 100).0;
    assert!(
        hot[0] > 200 && hot[2] < 150,
        "the hot spot over the page: {hot:?}"
    );
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(
        get(&api, &heatmap("&composite=1"), Some(&etag))
            .await
            .status(),
        304
    );

    put_screenshot([10, 10, 10]).await;
    let second = get(&api, &heatmap("&composite=1"), Some(&etag)).await;
    assert_eq!(second.status(), 200, "a new screenshot is a new image");
    assert_eq!(pixel(second.body(), 700, 700), [10, 10, 10, 255]);
}

#[tokio::test]
async fn elements_list_clicks_rage_and_dead_clicks() {
    let (api, _) = serve().await;
    let path = format!(
        "/api/sites/{SITE}/elements?page={}&from={DATE}&to={DATE}",
        page_key(PAGE)
    );
    let answer = get(&api, &path, None).await;
    assert_eq!(answer.status(), 200);
    let rows: Value = serde_json::from_slice(answer.body()).expect("json");
    let summary: Vec<(String, u64, u64)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["selector"].as_str().expect("selector").to_owned(),
                r["clicks"].as_u64().expect("clicks"),
                r["rage_clicks"].as_u64().expect("rage"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("#buy".to_owned(), 8, 1), ("#footer".to_owned(), 2, 0)]
    );
    let only_b = get(&api, &format!("{path}&segment=variant:B"), None).await;
    let rows: Value = serde_json::from_slice(only_b.body()).expect("json");
    assert_eq!(rows[0]["clicks"], 2, "B clicked the footer twice");
    assert_eq!(rows[1]["clicks"], 1);
}

#[tokio::test]
async fn timelines_mark_signals_and_inactivity() {
    let (api, _) = serve().await;
    let answer = get(
        &api,
        &format!("/api/sites/{SITE}/sessions/replay/timeline?date={DATE}"),
        None,
    )
    .await;
    assert_eq!(answer.status(), 200);
    let timeline: Value = serde_json::from_slice(answer.body()).expect("json");
    let markers: Vec<(i64, String)> = timeline["markers"]
        .as_array()
        .expect("markers")
        .iter()
        .filter(|m| m["kind"] != "click" && m["kind"] != "dead_click")
        .map(|m| {
            (
                m["t"].as_i64().expect("t"),
                m["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        markers,
        [
            (1_000, "rage_click".to_owned()),
            (15_000, "scroll_jump".to_owned()),
            (20_000, "navigation".to_owned())
        ]
    );
    let inactivity: Vec<(i64, i64)> = timeline["inactivity"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|s| {
            (
                s["start"].as_i64().expect("start"),
                s["end"].as_i64().expect("end"),
            )
        })
        .collect();
    assert_eq!(inactivity, [(1_400, 15_000), (15_000, 20_500)]);

    let sessions = |query: &str| {
        let api = api.clone();
        let path = format!("/api/sites/{SITE}/sessions?from={DATE}&to={DATE}{query}");
        async move {
            let answer = get(&api, &path, None).await;
            let rows: Value = serde_json::from_slice(answer.body()).expect("json");
            rows.as_array()
                .expect("rows")
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(sessions("&min_duration=10").await, ["replay"]);
    assert_eq!(sessions("&max_duration=10").await.len(), 6);
    assert_eq!(sessions("&frustration=rage").await, ["replay"]);
}

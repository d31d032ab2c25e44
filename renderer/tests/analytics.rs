//! The dashboard, funnel and paths endpoints over hand-built sessions of two days, processed by
//! the real processor: every figure is the one worked out by hand below, and each figure's link
//! lists exactly the sessions behind it.

use std::sync::Arc;

use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::Value;

const SITE: &str = "shop";
const DAYS: [&str; 2] = ["2026-11-20", "2026-11-21"];
const HOME: &str = "https://shop.example/";
const CHECKOUT: &str = "https://shop.example/checkout";

type Api = warp::filters::BoxedFilter<(warp::reply::Response,)>;

fn url(path: &str) -> String {
    format!("https://shop.example{path}")
}

/// Four sessions over two days (1280 × 800 viewports on a 3000 px document, but s3's):
/// - s1 (day 1, variant A): / (moves 0, 1 s, 2 s; scrolled to 700) → /product/1 10 s later
///   (moves 0, 0.5 s) → /checkout 20 s later (one move). Active 2000 + 500 + 0.
/// - s2 (day 1, variant B): / (a rage click: three clicks at 1.0/1.2/1.4 s, a scroll to 200 at
///   1.5 s) → /product/2 5 s later (moves 0 and 4 s: an inactive gap) → / again 3 s later, a
///   quick back. Active 500 + 0 + 0.
/// - s3 (day 2, mobile 390 × 844): / with a click at 1 s nothing answers (a dead click) and moves
///   at 2.5 s and 5 s. Active 4000.
/// - s4 (day 2): /checkout → /product/3 2 s later → / 2 s later, where it scrolls 300, 0, 300, 0
///   from the top, once a second (excessive scrolling). Active 0 + 0 + 4000.
async fn serve() -> Api {
    use warp::Filter;
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::default());
    let day = |i: usize| date_start_ms(parse_date(DAYS[i]).expect("date")) + 3_600_000;
    let mut first = SessionBuilder::new("s1", HOME, day(0))
        .tag("variant", "A")
        .moves(&[(0, 10, 10), (1_000, 20, 20), (2_000, 30, 30)])
        .scroll(1_500, 700)
        .next_page(&url("/product/1"), 10_000)
        .moves(&[(0, 10, 10), (500, 20, 20)])
        .next_page(CHECKOUT, 20_000)
        .moves(&[(0, 10, 10)])
        .build();
    first.extend(
        SessionBuilder::new("s2", HOME, day(0) + 60_000)
            .tag("variant", "B")
            .click(1_000, 100, 100, "#buy")
            .click(1_200, 102, 101, "#buy")
            .click(1_400, 99, 100, "#buy")
            .scroll(1_500, 200)
            .next_page(&url("/product/2"), 5_000)
            .moves(&[(0, 10, 10), (4_000, 20, 20)])
            .next_page(HOME, 3_000)
            .moves(&[(0, 10, 10)])
            .build(),
    );
    let mut second = SessionBuilder::new("s3", HOME, day(1))
        .viewport(390, 844)
        .click(1_000, 200, 300, "#banner")
        .moves(&[(2_500, 10, 10), (5_000, 20, 20)])
        .build();
    second.extend(
        SessionBuilder::new("s4", CHECKOUT, day(1) + 60_000)
            .moves(&[(0, 10, 10)])
            .next_page(&url("/product/3"), 2_000)
            .moves(&[(0, 10, 10)])
            .next_page(HOME, 2_000)
            .moves(&[(0, 10, 10)])
            .scroll(500, 0)
            .scroll(1_000, 300)
            .scroll(2_000, 0)
            .scroll(3_000, 300)
            .scroll(4_000, 0)
            .build(),
    );
    for (i, streams) in [first, second].iter().enumerate() {
        write_chunks(store.as_ref(), SITE, &format!("c{i}"), streams, 10)
            .await
            .expect("chunks");
        let date = parse_date(DAYS[i]).expect("date");
        process_day(store.clone(), &ProcessOptions::new(SITE, date))
            .await
            .expect("process");
    }
    routes(Renderer::new(store, RendererConfig::default()).on_loopback()).boxed()
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    let answer = warp::test::request().path(path).reply(api).await;
    let status = answer.status().as_u16();
    let body = serde_json::from_slice(answer.body()).expect("json");
    (status, body)
}

async fn json(api: &Api, path: &str) -> Value {
    let (status, body) = get(api, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The ids a session-list link lists, sorted.
async fn listed(api: &Api, link: &Value) -> Vec<String> {
    let rows = json(api, link.as_str().expect("link")).await;
    let mut ids: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn close(value: &Value, expected: f64, what: &str) {
    let got = value.as_f64().unwrap_or_else(|| panic!("{what}: {value}"));
    assert!((got - expected).abs() < 1e-9, "{what}: {got} != {expected}");
}

/// Scroll depth in percent of the 3000 px document, from the deepest px each view reached.
fn depths(px: &[f64]) -> Vec<f64> {
    px.iter().map(|px| px * 100.0 / 3000.0).collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[tokio::test]
async fn dashboard_figures_are_the_hand_computed_ones_for_the_range_each_day_and_each_page() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let board = json(&api, &format!("/api/sites/{SITE}/dashboard?{range}")).await;
    assert_eq!(board["sessions"], 4);
    assert_eq!(board["page_views"], 10);
    close(&board["pages_per_session"], 2.5, "pages per session");
    // Active: s1 2500, s2 500, s3 4000, s4 4000.
    close(&board["active_ms_median"], 3_250.0, "median active");
    close(&board["active_ms_mean"], 2_750.0, "mean active");
    // Deepest px: the fold (800, 844 on s3's phone) plus the deepest scroll.
    let all = depths(&[
        1_500.0, 800.0, 800.0, 1_000.0, 800.0, 800.0, 844.0, 800.0, 800.0, 1_100.0,
    ]);
    close(
        &board["scroll_depth_percent_mean"],
        mean(&all),
        "mean depth",
    );
    close(
        &board["scroll_depth_percent_median"],
        800.0 * 100.0 / 3000.0,
        "median depth",
    );
    for figure in [
        "rage_click_share",
        "dead_click_share",
        "excessive_scroll_share",
        "quick_back_share",
    ] {
        close(&board[figure], 0.25, figure);
    }

    let days = board["days"].as_array().expect("days");
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], DAYS[0]);
    assert_eq!(
        (days[0]["sessions"].clone(), days[1]["sessions"].clone()),
        (2.into(), 2.into())
    );
    assert_eq!(days[0]["page_views"], 6);
    close(&days[0]["active_ms_median"], 1_500.0, "day 1 median");
    close(&days[1]["active_ms_median"], 4_000.0, "day 2 median");
    close(&days[0]["rage_click_share"], 0.5, "day 1 rage");
    close(&days[1]["rage_click_share"], 0.0, "day 2 rage");
    close(&days[1]["dead_click_share"], 0.5, "day 2 dead");

    let pages: Vec<(&str, u64)> = board["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| {
            (
                p["url"].as_str().expect("url"),
                p["page_views"].as_u64().expect("views"),
            )
        })
        .collect();
    let (product1, product2, product3) = (url("/product/1"), url("/product/2"), url("/product/3"));
    assert_eq!(
        pages,
        [
            (HOME, 5),
            (CHECKOUT, 2),
            (product1.as_str(), 1),
            (product2.as_str(), 1),
            (product3.as_str(), 1)
        ]
    );
    let home = &board["pages"][0];
    assert_eq!(home["sessions"], 4);
    // Active on the home page per session: s1 2000, s2 500 (+0), s3 4000, s4 4000.
    close(&home["active_ms_median"], 3_000.0, "home median");
    close(&home["active_ms_mean"], 2_625.0, "home mean");
    close(&home["pages_per_session"], 1.25, "home views per session");
    close(
        &home["scroll_depth_percent_mean"],
        mean(&depths(&[1_500.0, 1_000.0, 800.0, 844.0, 1_100.0])),
        "home depth",
    );
    close(
        &home["quick_back_share"],
        0.0,
        "the quick back is product 2's",
    );
    close(&board["pages"][3]["quick_back_share"], 1.0, "product 2");

    // Each figure lists the sessions behind it.
    assert_eq!(
        listed(&api, &board["links"]["sessions"]).await,
        ["s1", "s2", "s3", "s4"]
    );
    assert_eq!(
        listed(&api, &board["links"]["rage_click_share"]).await,
        ["s2"]
    );
    assert_eq!(
        listed(&api, &board["links"]["dead_click_share"]).await,
        ["s3"]
    );
    assert_eq!(
        listed(&api, &board["links"]["excessive_scroll_share"]).await,
        ["s4"]
    );
    assert_eq!(
        listed(&api, &board["links"]["quick_back_share"]).await,
        ["s2"]
    );
    assert_eq!(
        listed(&api, &days[1]["links"]["sessions"]).await,
        ["s3", "s4"]
    );
    assert_eq!(
        listed(&api, &home["links"]["dead_click_share"]).await,
        ["s3"]
    );
    assert!(
        listed(&api, &home["links"]["quick_back_share"])
            .await
            .is_empty(),
        "not on /"
    );
    assert_eq!(
        listed(&api, &board["pages"][1]["links"]["sessions"]).await,
        ["s1", "s4"]
    );

    // Device and segment narrow every figure.
    let phone = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?{range}&device=mobile"),
    )
    .await;
    assert_eq!(
        (phone["sessions"].clone(), phone["page_views"].clone()),
        (1.into(), 1.into())
    );
    close(&phone["dead_click_share"], 1.0, "phone dead");
    assert_eq!(listed(&api, &phone["links"]["sessions"]).await, ["s3"]);
    let a = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?{range}&segment=variant:A"),
    )
    .await;
    assert_eq!(
        (a["sessions"].clone(), a["page_views"].clone()),
        (1.into(), 3.into())
    );
    close(&a["active_ms_mean"], 2_500.0, "variant A active");
    let empty = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?from=2026-11-01&to=2026-11-02"),
    )
    .await;
    assert_eq!(empty["sessions"], 0);
    assert!(empty["active_ms_median"].is_null() && empty["rage_click_share"].is_null());
    assert_eq!(empty["days"].as_array().map(Vec::len), Some(2));
    let (status, body) = get(&api, &format!("/api/sites/{SITE}/dashboard?device=fridge")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn funnels_count_each_session_once_in_order_within_the_limit_and_link_the_drop_offs() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let path = |query: &str| format!("/api/sites/{SITE}/funnel?{range}&{query}");
    let funnel = json(&api, &path("steps=/,/product/*,/checkout")).await;
    let steps = funnel["steps"].as_array().expect("steps");
    let counts: Vec<u64> = steps
        .iter()
        .map(|s| s["sessions"].as_u64().expect("n"))
        .collect();
    // s1 goes all the way; s2 reaches a product (and / twice: once); s3 stays on /; s4 sees the
    // steps out of order and reaches only the first, at its end.
    assert_eq!(counts, [4, 2, 1]);
    assert_eq!(steps[1]["url"], "/product/*");
    assert_eq!(steps[0]["step"], 1);
    close(&steps[1]["from_previous"], 0.5, "to a product");
    close(&steps[2]["from_previous"], 0.5, "to checkout");
    close(&steps[2]["from_first"], 0.25, "all the way");
    assert!(steps[0]["median_ms_from_previous"].is_null());
    close(
        &steps[1]["median_ms_from_previous"],
        7_500.0,
        "10 s and 5 s",
    );
    close(&steps[2]["median_ms_from_previous"], 20_000.0, "s1's 20 s");
    assert!(steps[2]["dropped_sessions_url"].is_null());
    assert_eq!(
        listed(&api, &steps[0]["dropped_sessions_url"]).await,
        ["s3", "s4"]
    );
    assert_eq!(
        listed(&api, &steps[1]["dropped_sessions_url"]).await,
        ["s2"]
    );

    // Within 15 s of the first step s1's checkout (30 s in) is too late.
    let quick = json(&api, &path("steps=/,/product/*,/checkout&within=15s")).await;
    let counts: Vec<u64> = quick["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["sessions"].as_u64().expect("n"))
        .collect();
    assert_eq!(counts, [4, 2, 0]);
    assert_eq!(
        listed(&api, &quick["steps"][1]["dropped_sessions_url"]).await,
        ["s1", "s2"]
    );

    // Full URLs and one day.
    let day = json(
        &api,
        &format!(
            "/api/sites/{SITE}/funnel?from={0}&to={0}&steps={1},{2}",
            DAYS[1],
            urlencode(CHECKOUT),
            urlencode(HOME)
        ),
    )
    .await;
    assert_eq!(day["steps"][0]["sessions"], 1);
    assert_eq!(day["steps"][1]["sessions"], 1);
    close(&day["steps"][1]["median_ms_from_previous"], 4_000.0, "s4");
    for bad in ["steps=/", "steps=/,/x&within=soon", "steps=/,not%20a%20url"] {
        let (status, body) = get(&api, &path(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).expect("encode")[1..].to_owned()
}

#[tokio::test]
async fn paths_after_and_before_a_page_count_each_session_once_with_exit_and_entry() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let next = json(
        &api,
        &format!(
            "/api/sites/{SITE}/paths?{range}&page={}&depth=2",
            urlencode(HOME)
        ),
    )
    .await;
    assert_eq!(next["page"], HOME);
    assert_eq!(
        (next["views"].clone(), next["sessions"].clone()),
        (5.into(), 4.into())
    );
    let paths: Vec<(Vec<String>, u64, f64)> = next["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            (
                serde_json::from_value(p["pages"].clone()).expect("pages"),
                p["sessions"].as_u64().expect("n"),
                p["share"].as_f64().expect("share"),
            )
        })
        .collect();
    let owned = |pages: &[&str]| pages.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        paths,
        [
            (owned(&["exit"]), 2, 0.5),
            (owned(&[&url("/product/1"), CHECKOUT]), 1, 0.25),
            (owned(&[&url("/product/2"), HOME]), 1, 0.25),
        ]
    );
    let before = json(
        &api,
        &format!(
            "/api/sites/{SITE}/paths?{range}&page={}&direction=previous&depth=2",
            urlencode(CHECKOUT)
        ),
    )
    .await;
    let pages: Vec<Value> = before["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| p["pages"].clone())
        .collect();
    assert_eq!(
        pages,
        [
            serde_json::json!(["entry"]),
            serde_json::json!([HOME, url("/product/1")]),
        ]
    );
    let home = urlencode(HOME);
    for bad in [
        format!("page={home}&depth=5"),
        format!("page={home}&direction=sideways"),
        "depth=2".to_owned(),
    ] {
        let (status, body) = get(&api, &format!("/api/sites/{SITE}/paths?{range}&{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

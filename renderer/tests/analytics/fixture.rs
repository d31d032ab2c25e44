//! The four hand-built sessions of two days, processed and served, and the helpers that read
//! the endpoints' answers.

use std::sync::Arc;

use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::Value;

pub(crate) const SITE: &str = "shop";
pub(crate) const DAYS: [&str; 2] = ["2026-11-20", "2026-11-21"];
pub(crate) const HOME: &str = "https://shop.example/";
pub(crate) const CHECKOUT: &str = "https://shop.example/checkout";

pub(crate) type Api = warp::filters::BoxedFilter<(warp::reply::Response,)>;

pub(crate) fn url(path: &str) -> String {
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
pub(crate) async fn serve() -> Api {
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

pub(crate) async fn get(api: &Api, path: &str) -> (u16, Value) {
    let answer = warp::test::request().path(path).reply(api).await;
    let status = answer.status().as_u16();
    let body = serde_json::from_slice(answer.body()).expect("json");
    (status, body)
}

pub(crate) async fn json(api: &Api, path: &str) -> Value {
    let (status, body) = get(api, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The ids a session-list link lists, sorted.
pub(crate) async fn listed(api: &Api, link: &Value) -> Vec<String> {
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

pub(crate) fn close(value: &Value, expected: f64, what: &str) {
    let got = value.as_f64().unwrap_or_else(|| panic!("{what}: {value}"));
    assert!((got - expected).abs() < 1e-9, "{what}: {got} != {expected}");
}

/// Scroll depth in percent of the 3000 px document, from the deepest px each view reached.
pub(crate) fn depths(px: &[f64]) -> Vec<f64> {
    px.iter().map(|px| px * 100.0 / 3000.0).collect()
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

pub(crate) fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).expect("encode")[1..].to_owned()
}

//! The read API answers for one segment or one frustration signal: heatmaps of one A/B variant
//! draw only that variant's clicks, and the session list finds rage and dead clicks and tags.

use std::sync::Arc;

use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::Value;

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";
const PAGE: &str = "https://shop.example/";

async fn serve_day()
-> impl warp::Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::default());
    let start = date_start_ms(parse_date(DATE).expect("date")) + 3_600_000;
    let mut streams = SessionBuilder::new("rage-a", PAGE, start)
        .tag("variant", "A")
        .click(1_000, 100, 100, "#buy")
        .click(1_200, 102, 101, "#buy")
        .click(1_400, 99, 100, "#buy")
        .scroll(1_500, 200)
        .build();
    streams.extend(
        SessionBuilder::new("dead-b", PAGE, start + 60_000)
            .tag("variant", "B")
            .click(1_000, 600, 400, "#banner")
            .moves(&[(5_000, 10, 10)])
            .build(),
    );
    write_chunks(store.as_ref(), SITE, "c1", &streams, 10)
        .await
        .expect("chunks");
    process_day(
        store.clone(),
        &ProcessOptions::new(SITE, parse_date(DATE).expect("date")),
    )
    .await
    .expect("process");
    routes(Renderer::new(store, RendererConfig::default()).on_loopback())
}

async fn get(
    filter: &(
         impl warp::Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + 'static
     ),
    path: &str,
) -> (u16, Vec<u8>) {
    let response = warp::test::request().path(path).reply(filter).await;
    (response.status().as_u16(), response.body().to_vec())
}

fn alpha_at(png: &[u8], x: u32, y: u32) -> u8 {
    let image = image::load_from_memory(png).expect("png").to_rgba8();
    image.get_pixel(x, y).0[3]
}

fn session_ids(body: &[u8]) -> Vec<String> {
    let rows: Value = serde_json::from_slice(body).expect("json");
    rows.as_array()
        .expect("array")
        .iter()
        .map(|row| row["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn one_variant_one_signal_at_a_time() {
    let api = serve_day().await;
    let page = "https%3A%2F%2Fshop.example%2F";
    let heatmap = |segment: &str| {
        format!(
            "/api/sites/{SITE}/heatmap.png?page={page}&kind=click&from={DATE}&to={DATE}&segment={segment}"
        )
    };
    let (status, a) = get(&api, &heatmap("variant:A")).await;
    assert_eq!(status, 200);
    assert!(
        alpha_at(&a, 100, 100) > 128,
        "variant A's rage clicks are drawn"
    );
    assert_eq!(alpha_at(&a, 600, 400), 0, "variant B's click is not");
    let (_, b) = get(&api, &heatmap("variant:B")).await;
    assert_eq!(alpha_at(&b, 100, 100), 0);
    assert!(alpha_at(&b, 600, 400) > 128);
    let (status, body) = get(&api, &heatmap("variant")).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    let sessions =
        |query: &str| format!("/api/sites/{SITE}/sessions?from={DATE}&to={DATE}&{query}");
    let (_, rage) = get(&api, &sessions("frustration=rage")).await;
    assert_eq!(session_ids(&rage), ["rage-a"]);
    let (_, dead) = get(&api, &sessions("frustration=dead")).await;
    assert_eq!(session_ids(&dead), ["dead-b"]);
    let (_, any) = get(&api, &sessions("frustration=any")).await;
    assert_eq!(session_ids(&any), ["dead-b", "rage-a"], "newest first");
    let (_, variant_b) = get(&api, &sessions("tag=variant:B")).await;
    assert_eq!(session_ids(&variant_b), ["dead-b"]);
    let rows: Value = serde_json::from_slice(&rage).expect("json");
    assert_eq!(rows[0]["frustration"]["rage_clicks"], 1);
    let (status, _) = get(&api, &sessions("frustration=angry")).await;
    assert_eq!(status, 400);
}

//! The attention map and the fold's percentiles through the read API: hand-built page views
//! processed as a day, `kind=attention` drawn by the heatmap route (a band seen longer is
//! hotter), the scroll map's fold lines, and the scroll-depth JSON's numbers behind both legends.

use std::sync::Arc;

use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::band_map::{FOLD_COLOUR, FOLD_QUARTILE_COLOUR};
use heatpipe_renderer::png::Palette;
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::{Value, json};

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";
const PAGE: &str = "https%3A%2F%2Fshop.example%2F";

/// Two views of a 2000 px page: one through a 400 px viewport at the top for 2.5 s, then at
/// 1000 px for 0.5 s; one through an 800 px viewport at the top for 1 s.
async fn serve_day()
-> impl warp::Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::default());
    let start = date_start_ms(parse_date(DATE).expect("date")) + 3_600_000;
    let url = "https://shop.example/";
    let mut streams = SessionBuilder::new("short-viewport", url, start)
        .viewport(1280, 400)
        .document(1280, 2000)
        .moves(&[(0, 5, 5), (1_000, 5, 5), (2_000, 5, 5), (3_000, 5, 5)])
        .scroll(2_500, 1_000)
        .build();
    streams.extend(
        SessionBuilder::new("tall-viewport", url, start + 60_000)
            .viewport(1280, 800)
            .document(1280, 2000)
            .moves(&[(0, 5, 5), (1_000, 5, 5)])
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

fn heatmap(kind: &str, extra: &str) -> String {
    format!("/api/sites/{SITE}/heatmap.png?page={PAGE}&kind={kind}&from={DATE}&to={DATE}{extra}")
}

#[tokio::test]
async fn attention_map_and_fold_percentiles_through_the_api() {
    let api = serve_day().await;
    let (status, png) = get(&api, &heatmap("attention", "&opacity=1")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&png));
    let image = image::load_from_memory(&png).expect("png").to_rgba8();
    assert_eq!(image.dimensions(), (1280, 2000));
    let rgba = |y: u32| image.get_pixel(640, y).0;
    // Per view: rows 0..400 1.75 s (the peak), 400..800 0.5 s, 1000..1400 0.25 s.
    let ramp = |seconds: f32| {
        let index = (seconds / 1.75 * 252.0).round();
        Palette::Classic.colour(index / 252.0)
    };
    assert_eq!(rgba(200)[..3], ramp(1.75));
    assert_eq!(rgba(600)[..3], ramp(0.5));
    assert_eq!(rgba(1200)[..3], ramp(0.25));
    assert_ne!(ramp(1.75), ramp(0.5));
    for y in [900, 1600] {
        assert_eq!(rgba(y)[3], 0, "row {y} was never in view");
    }

    // The scroll map: the fold's median (400 px) solid, its third quartile (800 px) dashed.
    let (status, png) = get(&api, &heatmap("scroll", "")).await;
    assert_eq!(status, 200);
    let image = image::load_from_memory(&png).expect("png").to_rgba8();
    assert_eq!(image.get_pixel(3, 400).0, FOLD_COLOUR);
    assert_eq!(image.get_pixel(640, 401).0, FOLD_COLOUR);
    assert_eq!(image.get_pixel(3, 800).0, FOLD_QUARTILE_COLOUR);
    assert_ne!(
        image.get_pixel(11, 800).0,
        FOLD_QUARTILE_COLOUR,
        "a dash's gap"
    );

    let (status, body) = get(
        &api,
        &format!("/api/sites/{SITE}/scroll-depth?page={PAGE}&from={DATE}&to={DATE}"),
    )
    .await;
    assert_eq!(status, 200);
    let depth: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        depth["fold_px"],
        json!({"p25": 400, "p50": 400, "p75": 800})
    );
    assert_eq!(depth["average_fold_px"], 600);
    let attention = &depth["attention"];
    assert_eq!(attention["views"], 2);
    assert_eq!(attention["band_px"], 10);
    assert_eq!(attention["peak_seconds_per_view"], 1.75);
    let seconds = attention["seconds_per_view"].as_array().expect("bands");
    assert_eq!(seconds.len(), 140, "down to row 1400, the lowest in view");
    assert_eq!(
        (seconds[0].clone(), seconds[39].clone()),
        (json!(1.75), json!(1.75))
    );
    assert_eq!(
        (seconds[40].clone(), seconds[79].clone()),
        (json!(0.5), json!(0.5))
    );
    assert_eq!(
        (seconds[80].clone(), seconds[99].clone()),
        (json!(0.0), json!(0.0))
    );
    assert_eq!(seconds[100], json!(0.25));

    // Compare mode refuses an attention map rather than drawing something else.
    let compared = heatmap(
        "attention",
        &format!("&compare_from={DATE}&compare_to={DATE}"),
    );
    let (status, body) = get(&api, &compared).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("attention"));
    let (status, _) = get(&api, &heatmap("dwell", "")).await;
    assert_eq!(status, 400);
}

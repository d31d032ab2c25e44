//! The whole pipeline over HTTP: known native and rrweb batches are posted to a running server,
//! the server shuts down (storing what it buffered), the day is processed, and a fresh server
//! answers the read API from the same store — once on a local folder, once on S3.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use serde_json::{Value, json};

const SITE: &str = "shop";
const DATE: &str = "2026-11-20";
const PAGE: &str = "https://shop.example/";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;

fn test_config(wal_dir: &Path) -> Config {
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(wal_dir.to_path_buf());
    config
}

fn native_desktop_batch() -> Value {
    json!({
        "site": SITE, "session": "native-1", "seq": 0, "page_view": 0,
        "page": {"url": "https://SHOP.example/#top", "viewport": [1280, 800], "document": [1280, 3000], "started_at": T0, "tags": {"variant": "B"}},
        "moves": [[50, 380, 290], [100, 399, 299], [1500, 600, 900]],
        "clicks": [[100, 400, 300, "#buy", 0.5, 0.5], [2000, 400, 300, "#buy", 0.5, 0.5], [4000, 400, 300, "#buy"], [6000, 900, 1500, "footer > a"]],
        "scrolls": [[3000, 1200], [5000, 2200]]
    })
}

fn native_mobile_batch() -> Value {
    json!({
        "site": SITE, "session": "native-2", "seq": 0,
        "page": {"url": PAGE, "viewport": [390, 700], "document": [390, 5000], "started_at": T0 + 60_000},
        "clicks": [[800, 100, 200, "#menu"]],
        "scrolls": [[400, 300]]
    })
}

fn rrweb_batch() -> Value {
    let t = T0 + 120_000;
    json!([
        {"type": 4, "data": {"href": PAGE, "width": 1280, "height": 800}, "timestamp": t},
        {"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": []}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": t + 10},
        {"type": 5, "data": {"tag": "heatpipe/page", "payload": {"height": 3000}}, "timestamp": t + 20},
        {"type": 3, "data": {"source": 1, "positions": [{"x": 150, "y": 90, "id": 5, "timeOffset": -50}, {"x": 200, "y": 100, "id": 5, "timeOffset": 0}]}, "timestamp": t + 900},
        {"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": 500}, "timestamp": t + 1000},
        {"type": 3, "data": {"source": 2, "type": 2, "id": 5, "x": 200, "y": 100}, "timestamp": t + 1500}
    ])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

async fn post(client: &reqwest::Client, url: String, body: Vec<u8>, gzipped: bool) -> (u16, Value) {
    let mut request = client
        .post(url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body);
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    let response = client.get(&url).send().await.expect("get");
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.expect("json")
}

async fn collect_known_traffic(store: Arc<dyn ObjectStore>, wal_dir: &Path) {
    let server = ServerHandle::start(store, test_config(wal_dir), ServeOptions::default())
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let collect = format!("{}/v1/collect", server.url());
    let desktop = serde_json::to_vec(&native_desktop_batch()).expect("json");
    assert_eq!(
        post(&client, collect.clone(), desktop.clone(), false).await,
        (200, json!({"ok": true, "events": 9, "streams": 1}))
    );
    // The tracker retries a batch it got no answer for: same session and seq, counted once.
    assert_eq!(post(&client, collect.clone(), desktop, false).await.0, 200);
    let mobile = gzip(&serde_json::to_vec(&native_mobile_batch()).expect("json"));
    assert_eq!(post(&client, collect.clone(), mobile, true).await.0, 200);
    let rrweb = serde_json::to_vec(&rrweb_batch()).expect("json");
    let (status, answer) = post(
        &client,
        format!("{}/v1/rrweb/{SITE}/rr-1", server.url()),
        rrweb,
        false,
    )
    .await;
    assert_eq!(
        (status, answer["events"].as_u64()),
        (200, Some(4)),
        "two moves, a scroll and a click: {answer}"
    );
    // Bad input is refused with a JSON reason and hurts nothing.
    let (status, answer) = post(&client, collect, b"{\"site\": 3}".to_vec(), false).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("message")
            .contains("native shape"),
        "{answer}"
    );
    assert_eq!(
        client
            .get(format!("{}/healthz", server.url()))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    server.shutdown().await;
}

async fn check_read_api(store: Arc<dyn ObjectStore>, wal_dir: &Path) {
    let server = ServerHandle::start(store, test_config(wal_dir), ServeOptions::default())
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let api = format!("{}/api/sites/{SITE}", server.url());
    let range = format!("from={DATE}&to={DATE}");

    let pages = get_json(&client, format!("{api}/pages?{range}")).await;
    assert_eq!(pages.as_array().expect("array").len(), 1, "{pages}");
    let page = &pages[0];
    assert_eq!(page["url"], PAGE);
    assert_eq!(
        (
            page["views"].as_u64(),
            page["sessions"].as_u64(),
            page["clicks"].as_u64()
        ),
        (Some(3), Some(3), Some(6)),
        "{page}"
    );
    assert_eq!(page["moves"].as_u64(), Some(5));

    let encoded_page = "https%3A%2F%2Fshop.example%2F";
    let png_url = format!("{api}/heatmap.png?page={encoded_page}&kind=click&{range}");
    let response = client.get(&png_url).send().await.expect("png");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let image = image::load_from_memory(&response.bytes().await.expect("bytes"))
        .expect("decodes")
        .to_rgba8();
    assert_eq!(
        image.dimensions(),
        (1280, 5000),
        "page width and the tallest document"
    );
    let hot = image.get_pixel(400, 300).0;
    assert!(
        hot[3] >= 180 && hot[0] >= 200 && hot[2] <= 80,
        "three clicks at (400, 300) are strongly red: {hot:?}"
    );
    assert!(
        image.get_pixel(200, 600).0[3] > 0,
        "the rrweb click lands at its page position (200, 600)"
    );
    assert_eq!(
        image.get_pixel(700, 300).0[3],
        0,
        "300 px from the nearest click is fully transparent"
    );
    assert_eq!(image.get_pixel(1200, 4000).0[3], 0);
    let cached = client
        .get(&png_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("304");
    assert_eq!(cached.status(), 304);

    let by_key = client
        .get(format!(
            "{api}/heatmap.png?page={}&kind=move&device=desktop&{range}",
            page["key"].as_str().expect("key")
        ))
        .send()
        .await
        .expect("move png");
    assert_eq!(by_key.status(), 200);

    let depth = get_json(
        &client,
        format!("{api}/scroll-depth?page={encoded_page}&{range}"),
    )
    .await;
    assert_eq!(
        (depth["views"].as_u64(), depth["views_with_height"].as_u64()),
        (Some(3), Some(3))
    );
    let reached_px = |px: u64| {
        depth["reached_px"]
            .as_array()
            .expect("px")
            .iter()
            .find(|p| p["depth_px"] == px)
            .map_or(0, |p| p["views"].as_u64().expect("views"))
    };
    // Deepest points: 2200 + 800 = 3000 px, 300 + 700 = 1000 px, 500 + 800 = 1300 px.
    assert_eq!(
        [
            reached_px(0),
            reached_px(1000),
            reached_px(1010),
            reached_px(1300),
            reached_px(1310),
            reached_px(3000),
            reached_px(3010)
        ],
        [3, 3, 2, 2, 1, 1, 0]
    );
    let reached_percent = |percent: u64| {
        depth["reached_percent"][percent as usize]["views"]
            .as_u64()
            .expect("views")
    };
    // Of their documents: 3000/3000 = 100 %, 1000/5000 = 20 %, 1300/3000 = 43 %.
    assert_eq!(
        [
            reached_percent(20),
            reached_percent(21),
            reached_percent(43),
            reached_percent(44),
            reached_percent(100)
        ],
        [3, 2, 2, 1, 1]
    );

    let sessions = get_json(&client, format!("{api}/sessions?{range}")).await;
    let mut ids: Vec<&str> = sessions
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["native-1", "native-2", "rr-1"]);
    let long = get_json(&client, format!("{api}/sessions?{range}&min_duration=5")).await;
    assert_eq!(
        long.as_array().expect("array").len(),
        1,
        "only native-1 lasts 6 s: {long}"
    );

    let timeline = get_json(
        &client,
        format!("{api}/sessions/native-1/timeline?date={DATE}"),
    )
    .await;
    let clicks: Vec<(i64, i64, i64)> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "click")
        .map(|e| {
            (
                e["t"].as_i64().expect("t"),
                e["x"].as_i64().expect("x"),
                e["y"].as_i64().expect("y"),
            )
        })
        .collect();
    assert_eq!(
        clicks,
        [
            (100, 400, 300),
            (2000, 400, 300),
            (4000, 400, 300),
            (6000, 900, 1500)
        ],
        "each click once, in order"
    );
    let times: Vec<i64> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["t"].as_i64().expect("t"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events are in time order"
    );
    assert_eq!(timeline["page_views"][0]["url"], PAGE);
    let rrweb = get_json(&client, format!("{api}/sessions/rr-1/timeline?date={DATE}")).await;
    let rr_click = rrweb["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "click")
        .expect("click")
        .clone();
    assert_eq!(
        (
            rr_click["t"].as_i64(),
            rr_click["x"].as_i64(),
            rr_click["y"].as_i64()
        ),
        (Some(1500), Some(200), Some(600))
    );

    let missing = client
        .get(format!("{api}/sessions/nobody/timeline?date={DATE}"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.expect("json error");
    assert!(
        error["error"]["message"]
            .as_str()
            .expect("message")
            .contains("nobody")
    );
    server.shutdown().await;
}

async fn run_pipeline(store: Arc<dyn ObjectStore>) {
    let wal = tempfile::tempdir().expect("tempdir");
    collect_known_traffic(store.clone(), wal.path()).await;
    for segment in heatpipe_collector::wal::existing_segments(wal.path()).expect("log folder") {
        let bytes = std::fs::read(&segment.path).unwrap_or_default();
        assert!(
            heatpipe_collector::wal::read_segment(&bytes).0.is_empty(),
            "graceful shutdown stored every logged batch: {segment:?}"
        );
    }
    let date = heatpipe_core::keys::parse_date(DATE).expect("date");
    let summary = process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    assert_eq!(
        (
            summary.chunks_skipped,
            summary.duplicate_streams,
            summary.sessions
        ),
        (0, 1, 3),
        "{summary:?}"
    );
    check_read_api(store, wal.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_end_to_end_on_a_local_store() {
    let folder = tempfile::tempdir().expect("tempdir");
    run_pipeline(Arc::new(LocalStore::open(folder.path()).expect("store"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_end_to_end_on_s3() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "heatpipe")
        .await
        .expect("s3 server");
    run_pipeline(Arc::new(server.store("heatpipe", "e2e"))).await;
    let stored = std::fs::read_dir(
        folder
            .path()
            .join("heatpipe")
            .join("e2e")
            .join("raw")
            .join(SITE)
            .join(DATE),
    )
    .expect("chunks are files in the bucket");
    assert!(stored.count() > 0);
}

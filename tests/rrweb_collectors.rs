//! Collectors keep no rrweb session state, so they are interchangeable behind a load balancer.
//! One recorded session (two page views, ten minutes of moves, scrolls, clicks and a resize, cut
//! into 35 batches, the first page view's Meta event only in the first) is sent three ways: all
//! to one collector; alternating between two collectors on one store; and to one collector that
//! is restarted half-way, its next batch carrying no Meta event. Each store is processed; the
//! three give the same aggregates (byte for byte), the same timeline, and the same DOM
//! recording: every event, in order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use heatpipe::server::ServerHandle;
use heatpipe_core::keys::parse_date;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use serde_json::{Value, json};

mod common;
use common::replay::start_server;

const SITE: &str = "shop";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const SESSION: &str = "rr-long";
const EVENTS_PER_BATCH: usize = 20;

/// The recording: rrweb events in the order the recorder emits them.
fn recording() -> Vec<Value> {
    let mut events = Vec::new();
    for (view, url) in ["https://shop.example/", "https://shop.example/cart"]
        .iter()
        .enumerate()
    {
        let start = T0 + view as i64 * 300_000;
        events.push(json!({"type": 4, "data": {"href": url, "width": 1280, "height": 800}, "timestamp": start}));
        events.push(json!({"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": []}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": start + 5}));
        events.push(json!({"type": 5, "data": {"tag": "heatpipe/page", "payload": {"height": 4000}}, "timestamp": start + 10}));
        for i in 0..340i64 {
            let t = start + 100 + i * 850;
            let event = match i % 17 {
                5 => {
                    json!({"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": (i * 7) % 3000}, "timestamp": t})
                }
                11 => {
                    json!({"type": 3, "data": {"source": 2, "type": 2, "id": 9, "x": 100 + i % 900, "y": 50 + i % 700}, "timestamp": t})
                }
                13 if i == 200 => {
                    json!({"type": 3, "data": {"source": 4, "width": 1024, "height": 700}, "timestamp": t})
                }
                _ => {
                    json!({"type": 3, "data": {"source": 1, "positions": [{"x": (i * 13) % 1000, "y": (i * 29) % 760, "id": 9, "timeOffset": -40}, {"x": (i * 17) % 1000, "y": (i * 31) % 760, "id": 9, "timeOffset": 0}]}, "timestamp": t})
                }
            };
            events.push(event);
        }
    }
    events
}

fn batches() -> Vec<Vec<u8>> {
    recording()
        .chunks(EVENTS_PER_BATCH)
        .map(|batch| serde_json::to_vec(batch).expect("json"))
        .collect()
}

async fn send(client: &reqwest::Client, server: &ServerHandle, batch: &[u8]) {
    let response = client
        .post(format!("{}/v1/rrweb/{SITE}/{SESSION}", server.url()))
        .header("content-type", "application/json")
        .body(batch.to_vec())
        .send()
        .await
        .expect("collector answers");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
}

/// How the batches reach the collectors.
#[derive(Debug, Clone, Copy)]
enum Route {
    OneCollector,
    TwoCollectorsAlternating,
    RestartHalfway,
}

/// Sends the recording along `route` into a fresh local store under `folder`, processes the
/// day, and returns the store.
async fn collect_and_process(folder: &Path, route: Route) -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.join("store")).expect("store"));
    let client = reqwest::Client::new();
    let batches = batches();
    match route {
        Route::OneCollector => {
            let server = start_server(store.clone(), &folder.join("wal")).await;
            for batch in &batches {
                send(&client, &server, batch).await;
            }
            server.shutdown().await;
        }
        Route::TwoCollectorsAlternating => {
            let first = start_server(store.clone(), &folder.join("wal-1")).await;
            let second = start_server(store.clone(), &folder.join("wal-2")).await;
            for (i, batch) in batches.iter().enumerate() {
                send(&client, if i % 2 == 0 { &first } else { &second }, batch).await;
            }
            first.shutdown().await;
            second.shutdown().await;
        }
        Route::RestartHalfway => {
            let (before, after) = batches.split_at(batches.len() / 2);
            let server = start_server(store.clone(), &folder.join("wal")).await;
            for batch in before {
                send(&client, &server, batch).await;
            }
            server.shutdown().await;
            let server = start_server(store.clone(), &folder.join("wal")).await;
            for batch in after {
                send(&client, &server, batch).await;
            }
            server.shutdown().await;
        }
    }
    let date = parse_date(DATE).expect("date");
    process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    store
}

/// Every aggregate object of the day, by key.
async fn aggregates(store: &dyn ObjectStore) -> BTreeMap<String, bytes::Bytes> {
    let mut objects = BTreeMap::new();
    for meta in store
        .list(&format!("agg/{SITE}/{DATE}/"))
        .await
        .expect("list")
    {
        let bytes = store.get(&meta.key).await.expect("get");
        objects.insert(meta.key, bytes);
    }
    objects
}

/// The session's timeline and DOM recording, as the read API answers them.
async fn timeline_and_recording(store: &Arc<dyn ObjectStore>, folder: &Path) -> (Value, Value) {
    let server = start_server(store.clone(), &folder.join("wal-read")).await;
    let mut answers = Vec::new();
    for what in ["timeline", "recording"] {
        let response = reqwest::get(format!(
            "{}/api/sites/{SITE}/sessions/{SESSION}/{what}?date={DATE}",
            server.url()
        ))
        .await
        .expect("the read API answers");
        assert_eq!(response.status(), 200, "{what}");
        answers.push(response.json::<Value>().await.expect("json"));
    }
    server.shutdown().await;
    let recording = answers.pop().expect("recording");
    (answers.pop().expect("timeline"), recording)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_split_over_collectors_and_a_restart_gives_the_same_day() {
    assert_eq!(batches().len(), 35, "the recording's batches");
    let folder = tempfile::tempdir().expect("tempdir");
    let mut days = Vec::new();
    for route in [
        Route::OneCollector,
        Route::TwoCollectorsAlternating,
        Route::RestartHalfway,
    ] {
        let folder = folder.path().join(format!("{route:?}"));
        let store = collect_and_process(&folder, route).await;
        let aggregates = aggregates(store.as_ref()).await;
        let (timeline, recording) = timeline_and_recording(&store, &folder).await;
        days.push((route, aggregates, timeline, recording));
    }
    let (_, reference_aggregates, reference_timeline, reference_recording) = &days[0];
    // Every event of the recording plays back, in the order it was recorded.
    let recorded: Vec<&Value> = reference_recording["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["timestamp"])
        .collect();
    let sent = recording();
    let sent: Vec<&Value> = sent.iter().map(|e| &e["timestamp"]).collect();
    assert_eq!(recorded, sent);
    assert_eq!(reference_recording["blocks_skipped"], 0);
    assert_eq!(
        reference_recording["page_views"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(
        reference_aggregates.len() >= 3,
        "a page index and two pages: {:?}",
        reference_aggregates.keys()
    );
    let events = reference_timeline["events"].as_array().expect("events");
    let clicks = events.iter().filter(|e| e["kind"] == "click").count();
    assert_eq!(clicks, 40, "20 clicks in each page view");
    assert_eq!(
        reference_timeline["page_views"]
            .as_array()
            .expect("page views")
            .len(),
        2
    );
    for (route, aggregates, timeline, recording) in &days[1..] {
        assert_eq!(aggregates, reference_aggregates, "{route:?}: aggregates");
        assert_eq!(timeline, reference_timeline, "{route:?}: timeline");
        assert_eq!(recording, reference_recording, "{route:?}: recording");
    }
}

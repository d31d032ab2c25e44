//! A forget that comes while the session's batches are still in a collector's log: the erasure
//! leaves a tombstone, and the collector's uploader leaves the session's batches (native and
//! rrweb) out when it stores the segment later. The other session's batches are stored and
//! processed as usual.

use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::chunk::decode_chunk;
use heatpipe_core::keys::{parse_date, session_index_key};
use heatpipe_core::rrweb::decode_lane;
use heatpipe_core::session::SessionIndex;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::erase::{Subject, forget};
use heatpipe_processor::{ProcessOptions, ProcessorConfig, process_day};
use serde_json::json;

const SITE: &str = "shop";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;

async fn post(client: &reqwest::Client, url: String, body: serde_json::Value) {
    let response = client.post(url).json(&body).send().await.expect("post");
    assert_eq!(response.status(), 200);
}

/// Every session id in the site's raw chunks and rrweb lane objects.
async fn raw_sessions(store: &dyn ObjectStore) -> Vec<String> {
    let mut sessions = Vec::new();
    for meta in store.list(&format!("raw/{SITE}/")).await.expect("list") {
        let bytes = store.get(&meta.key).await.expect("get");
        if meta.key.ends_with(".hpr") {
            let batches = decode_lane(&bytes).expect("lane");
            sessions.extend(batches.into_iter().map(|b| b.session_id));
        } else {
            let streams = decode_chunk(&bytes).expect("chunk");
            sessions.extend(streams.into_iter().map(|s| s.session_id));
        }
    }
    sessions.sort();
    sessions.dedup();
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_erased_while_in_a_collectors_log_is_left_out_at_upload() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.path().join("store")).expect("store"));
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.path().join("wal"));
    // Nothing is sealed while the test runs: every batch waits in the log until shutdown.
    config.collector.seal_age_ms = 3_600_000;
    let server = ServerHandle::start(store.clone(), config, ServeOptions::default())
        .await
        .expect("server");
    let client = reqwest::Client::new();
    for session in ["gone", "kept"] {
        post(
            &client,
            format!("{}/v1/collect", server.url()),
            json!({
                "site": SITE, "session": session, "seq": 0,
                "page": {"url": "https://shop.example/", "viewport": [1280, 800], "started_at": T0},
                "clicks": [[10, 1, 2, "#a"]]
            }),
        )
        .await;
        post(
            &client,
            format!("{}/v1/rrweb/{SITE}/{session}-rr", server.url()),
            json!([
                {"type": 4, "data": {"href": "https://shop.example/", "width": 1280, "height": 800}, "timestamp": T0},
                {"type": 3, "data": {"source": 2, "type": 2, "id": 5, "x": 20, "y": 30}, "timestamp": T0 + 500}
            ]),
        )
        .await;
    }
    assert!(
        store
            .list(&format!("raw/{SITE}/"))
            .await
            .expect("list")
            .is_empty(),
        "the batches are still in the log"
    );

    let config = ProcessorConfig::default();
    let now = chrono::Utc::now();
    for session in ["gone", "gone-rr"] {
        forget(
            store.clone(),
            &config,
            SITE,
            &Subject::Session(session.into()),
            false,
            now,
        )
        .await
        .expect("forget");
    }
    server.shutdown().await;

    assert_eq!(raw_sessions(store.as_ref()).await, ["kept", "kept-rr"]);
    let date = parse_date(DATE).expect("date");
    process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    let index = SessionIndex::decode(
        &store
            .get(&session_index_key(SITE, date))
            .await
            .expect("index"),
    )
    .expect("decode");
    let ids: Vec<String> = index.sessions.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["kept", "kept-rr"]);
}

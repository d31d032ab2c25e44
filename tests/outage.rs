//! A store outage: the S3-compatible server stops mid-load. The collector keeps acknowledging
//! (its log holds the batches) until the log bound, then answers 503 with Retry-After; when the
//! server is back, everything acknowledged reaches the store with no operator action, exactly
//! once, and nothing refused does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::keys::{parse_date, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_core::wire::{NativeBatch, WireLimits};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::{ProcessOptions, process_day};
use serde_json::json;

const SITE: &str = "outage";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const MAX_PENDING_BYTES: u64 = 128 * 1024;

fn batch(session: &str) -> serde_json::Value {
    let moves: Vec<_> = (0..20).map(|i| json!([10 * i, 5 * i, 7 * i])).collect();
    json!({
        "site": SITE, "session": session, "seq": 0,
        "page": {"url": "https://outage.example/", "viewport": [1280, 800], "started_at": T0},
        "clicks": [[10, 1, 2, "#a"], [20, 3, 4, "#a"], [30, 5, 6, "#a"]], "moves": moves
    })
}

/// Bytes the batch of `session` takes in the log.
fn logged_size(session: &str) -> u64 {
    let native: NativeBatch = serde_json::from_value(batch(session)).expect("batch");
    let converted = native.into_stream(&WireLimits::default()).expect("valid");
    let (site, stream) = (converted.site, converted.stream);
    heatpipe_collector::wal::encode_record(&heatpipe_collector::wal::WalRecord::stream(
        site, stream,
    ))
    .expect("encode")
    .len() as u64
}

async fn post(client: &reqwest::Client, url: &str, session: &str) -> reqwest::Response {
    client
        .post(format!("{url}/v1/collect"))
        .json(&batch(session))
        .send()
        .await
        .expect("collector answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_wait_in_the_log_through_a_store_outage() {
    let folder = tempfile::tempdir().expect("tempdir");
    let mut s3 = S3TestServer::start(&folder.path().join("s3"), "heatpipe")
        .await
        .expect("s3 server");
    let store: Arc<dyn ObjectStore> = Arc::new(s3.store("heatpipe", ""));
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.path().join("wal"));
    config.collector.seal_age_ms = 100;
    config.collector.seal_size_bytes = 16 * 1024;
    config.collector.max_pending_bytes = MAX_PENDING_BYTES;
    config.collector.shutdown_timeout_ms = 30_000;
    config.collector.rate_limit_per_s = 0;
    let server = ServerHandle::start(store.clone(), config, ServeOptions::default())
        .await
        .expect("server");
    let (client, url) = (reqwest::Client::new(), server.url());
    let mut acknowledged = BTreeSet::new();
    let mut refused = BTreeSet::new();

    for i in 0..100 {
        let session = format!("before-{i}");
        assert_eq!(post(&client, &url, &session).await.status(), 200);
        acknowledged.insert(session);
    }
    s3.stop();
    let mut during = 0u64;
    let refusal = loop {
        let session = format!("during-{during}");
        let response = post(&client, &url, &session).await;
        if response.status() == 200 {
            acknowledged.insert(session);
            during += 1;
            assert!(during < 10_000, "the log bound never took effect");
            continue;
        }
        refused.insert(session);
        break response;
    };
    assert_eq!(refusal.status(), 503);
    assert_eq!(refusal.headers()["retry-after"], "5");
    let body: serde_json::Value = refusal.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("retry later"),
        "{body}"
    );
    // A refusal means more than the limit was pending, and at most everything acknowledged so
    // far can be pending (uploads from before the stop may not have finished).
    let logged: u64 = acknowledged.iter().map(|s| logged_size(s)).sum();
    assert!(
        logged > MAX_PENDING_BYTES,
        "503 came before the log bound: at most {logged} bytes were pending"
    );

    s3.restart().await.expect("s3 back");
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let session = format!("after-{attempt}");
        attempt += 1;
        if post(&client, &url, &session).await.status() == 200 {
            acknowledged.insert(session);
            break;
        }
        refused.insert(session);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the collector never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.shutdown().await;

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
    let clicks: BTreeMap<String, u64> = index
        .sessions
        .into_iter()
        .map(|s| (s.id, s.num_clicks))
        .collect();
    let stored: BTreeSet<String> = clicks.keys().cloned().collect();
    assert_eq!(
        stored, acknowledged,
        "exactly the acknowledged batches are stored"
    );
    assert!(clicks.values().all(|n| *n == 3), "each once");
    assert!(refused.iter().all(|s| !stored.contains(s)));
}

//! A full disk under the write-ahead log. The log folder is a real 1 MiB `tmpfs` mounted by the
//! test (it needs root, as CI runs); the store is a real S3-compatible server on 127.0.0.1. With
//! the store stopped the log fills its disk and the collector answers `507` with `Retry-After`;
//! once the store is back, uploads free the disk and the collector accepts again by itself while
//! it is loaded; then it is restarted with segments still in the log. In the processed day every
//! acknowledged batch is counted exactly once and no refused one at all, and `/healthz` answered
//! throughout.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::stored::stored_clicks;
use common::tmpfs::Tmpfs;
use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_io::store::ObjectStore;
use serde_json::json;

const SITE: &str = "fulldisk";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const LOG_DISK: &str = "1m";

/// A batch of about 2 KiB: three clicks and 150 moves.
fn batch(session: &str) -> serde_json::Value {
    let moves: Vec<_> = (0..150).map(|i| json!([10 * i, 5 * i, 7 * i])).collect();
    json!({
        "site": SITE, "session": session, "seq": 0,
        "page": {"url": "https://fulldisk.example/", "viewport": [1280, 800], "started_at": T0},
        "clicks": [[10, 1, 2, "#a"], [20, 3, 4, "#a"], [30, 5, 6, "#a"]], "moves": moves
    })
}

/// What the collector answered, batch by batch.
#[derive(Debug, Default)]
struct Ledger {
    acknowledged: BTreeSet<String>,
    refused: BTreeMap<u16, BTreeSet<String>>,
}

impl Ledger {
    /// Sends the batch of `session` and records the answer, which must be 200, 503 or 507.
    async fn send(&mut self, client: &reqwest::Client, url: &str, session: String) -> u16 {
        let response = client
            .post(format!("{url}/v1/collect"))
            .json(&batch(&session))
            .send()
            .await
            .expect("the collector answers");
        let status = response.status().as_u16();
        match status {
            200 => {
                self.acknowledged.insert(session);
            }
            503 | 507 => {
                assert!(
                    response.headers().contains_key("retry-after"),
                    "{status} without Retry-After"
                );
                let body: serde_json::Value = response.json().await.expect("json error");
                assert!(body["error"]["message"].is_string(), "{body}");
                self.refused.entry(status).or_default().insert(session);
            }
            other => panic!("unexpected status {other} for a valid batch"),
        }
        status
    }

    fn num_refused(&self, status: u16) -> usize {
        self.refused.get(&status).map_or(0, BTreeSet::len)
    }
}

async fn assert_healthy(client: &reqwest::Client, url: &str) {
    let status = client
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz answers")
        .status();
    assert_eq!(status, 200);
}

fn config(wal_dir: &Path) -> Config {
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(wal_dir.to_path_buf());
    config.collector.seal_age_ms = 100;
    config.collector.seal_size_bytes = 64 * 1024;
    // The disk, not the pending bound, is what runs out.
    config.collector.max_pending_bytes = 1 << 30;
    config.collector.shutdown_timeout_ms = 1_000;
    config.collector.rate_limit_per_s = 0;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_disk_costs_refusals_never_acknowledged_batches() {
    let folder = tempfile::tempdir().expect("tempdir");
    let log_disk = Tmpfs::mount(&folder.path().join("wal"), LOG_DISK);
    let mut s3 = S3TestServer::start(&folder.path().join("s3"), "heatpipe")
        .await
        .expect("s3 server");
    let store: Arc<dyn ObjectStore> = Arc::new(s3.store("heatpipe", ""));
    let client = reqwest::Client::new();
    let mut ledger = Ledger::default();

    let server = ServerHandle::start(
        store.clone(),
        config(&log_disk.path),
        ServeOptions::default(),
    )
    .await
    .expect("server");
    let url = server.url();
    for i in 0..50 {
        assert_eq!(ledger.send(&client, &url, format!("up-{i}")).await, 200);
    }

    // The store goes down: the log grows until its disk is full.
    s3.stop();
    let mut sent = 0;
    while ledger.send(&client, &url, format!("filling-{sent}")).await == 200 {
        sent += 1;
        assert!(sent < 5_000, "a 1 MiB log disk never filled");
    }
    for i in 0..20 {
        let status = ledger.send(&client, &url, format!("full-{i}")).await;
        assert_eq!(status, 507, "the disk stays full while the store is down");
    }
    assert_healthy(&client, &url).await;

    // The store is back: uploads free the disk while the collector is loaded from 4 clients.
    s3.restart().await.expect("s3 back");
    let started = Instant::now();
    let mut round = 0;
    while ledger
        .acknowledged
        .iter()
        .filter(|s| s.starts_with("back-"))
        .count()
        < 400
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the collector did not accept again once space came back"
        );
        let sends = (0..4).map(|client_no| {
            let (client, url) = (client.clone(), url.clone());
            let session = format!("back-{round}-{client_no}");
            async move {
                let mut one = Ledger::default();
                one.send(&client, &url, session).await;
                one
            }
        });
        for one in futures::future::join_all(sends).await {
            ledger.acknowledged.extend(one.acknowledged);
            for (status, sessions) in one.refused {
                ledger.refused.entry(status).or_default().extend(sessions);
            }
        }
        round += 1;
    }
    assert_healthy(&client, &url).await;

    // A restart with segments still in the log: the store is down while it shuts down.
    s3.stop();
    for i in 0..30 {
        ledger.send(&client, &url, format!("last-{i}")).await;
    }
    server.shutdown().await;
    let left_in_log = count_segments(&log_disk.path);
    assert!(
        left_in_log > 0,
        "the restart should find segments to upload"
    );
    s3.restart().await.expect("s3 back");
    let mut drained = config(&log_disk.path);
    drained.collector.shutdown_timeout_ms = 60_000;
    let server = ServerHandle::start(store.clone(), drained, ServeOptions::default())
        .await
        .expect("restarted server");
    let url = server.url();
    for i in 0..10 {
        assert_eq!(
            ledger.send(&client, &url, format!("restarted-{i}")).await,
            200
        );
    }
    server.shutdown().await;
    assert_eq!(
        count_segments(&log_disk.path),
        0,
        "everything reached the store"
    );

    let stored = stored_clicks(store, SITE, DATE).await;
    let sessions: BTreeSet<String> = stored.keys().cloned().collect();
    let lost: Vec<&String> = ledger.acknowledged.difference(&sessions).collect();
    println!(
        "acknowledged {}, refused 507: {}, refused 503: {}, lost {}, segments at restart {left_in_log}",
        ledger.acknowledged.len(),
        ledger.num_refused(507),
        ledger.num_refused(503),
        lost.len(),
    );
    assert!(ledger.num_refused(507) >= 20, "{:?}", ledger.refused.keys());
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(sessions, ledger.acknowledged, "nothing refused is stored");
    let twice: Vec<_> = stored.iter().filter(|(_, clicks)| **clicks != 3).collect();
    assert!(twice.is_empty(), "counted other than once: {twice:?}");
}

/// Counts the log segments under `wal_dir`, of every collector id.
fn count_segments(wal_dir: &Path) -> usize {
    std::fs::read_dir(wal_dir)
        .expect("log folder")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .flat_map(|folder| std::fs::read_dir(folder.path()).expect("collector folder"))
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "log"))
        .count()
}

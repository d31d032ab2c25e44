//! The collector's promise under `kill -9`: concurrent clients post batches to the real
//! `heatpipe collect` process, which is killed with SIGKILL mid-load and started again on the
//! same log; after a graceful stop and `process`, every acknowledged batch is counted exactly
//! once and none twice.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::collector_process::CollectorProcess;
use common::stored::stored_clicks;
use heatpipe_io::store::{LocalStore, ObjectStore};
use serde_json::json;

const SITE: &str = "crash";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const CLICKS_PER_BATCH: u64 = 3;

/// Starts `heatpipe collect` on the configuration in `folder`.
fn start_collector(folder: &Path) -> CollectorProcess {
    CollectorProcess::start(&folder.join("heatpipe.toml"), &[], None)
}

fn batch(session: &str) -> Vec<u8> {
    let clicks: Vec<_> = (0..CLICKS_PER_BATCH)
        .map(|i| json!([100 * i, 50 + i, 60, "#buy"]))
        .collect();
    let moves: Vec<_> = (0..20).map(|i| json!([10 * i, 5 * i, 7 * i])).collect();
    serde_json::to_vec(&json!({
        "site": SITE, "session": session, "seq": 0,
        "page": {"url": "https://crash.example/", "viewport": [1280, 800], "started_at": T0},
        "clicks": clicks, "moves": moves
    }))
    .expect("json")
}

/// Posts batches from `clients` tasks until the collector stops answering; returns the
/// sessions whose batch was acknowledged.
async fn load(
    url: String,
    clients: usize,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    sent: Arc<AtomicUsize>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let tasks: Vec<_> = (0..clients)
        .map(|task| {
            let (client, url, acknowledged, sent) = (
                client.clone(),
                url.clone(),
                acknowledged.clone(),
                sent.clone(),
            );
            tokio::spawn(async move {
                for i in 0.. {
                    let session = format!("t{task}-{i}");
                    sent.fetch_add(1, Ordering::Relaxed);
                    let response = client
                        .post(format!("{url}/v1/collect"))
                        .body(batch(&session))
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => {
                            acknowledged.lock().expect("lock").insert(session);
                        }
                        Ok(r) => panic!("unexpected status {} before the kill", r.status()),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_survive_kill_9_exactly_once() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store_dir = folder.path().join("store");
    let config = format!(
        "store = {:?}\n[collector]\nwal_dir = {:?}\nseal_age_ms = 150\nseal_size_bytes = 32768\nrate_limit_per_s = 0\n",
        store_dir.display().to_string(),
        folder.path().join("wal").display().to_string()
    );
    std::fs::write(folder.path().join("heatpipe.toml"), config).expect("config");

    let first = start_collector(folder.path());
    let url = first.url.clone();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let clients = tokio::spawn(load(url, 8, acknowledged.clone(), sent.clone()));
    let started = Instant::now();
    while acknowledged.lock().expect("lock").len() < 2000
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    clients.await.expect("clients");
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 2000,
        "load reached {} acknowledgements",
        acknowledged.len()
    );
    assert!(
        sent.load(Ordering::Relaxed) > acknowledged.len(),
        "requests were in flight at the kill"
    );
    // The kill left batches that only the log holds, so the restart really has to recover them.
    let logged: usize = heatpipe_collector::wal::existing_segments(&folder.path().join("wal"))
        .expect("log folder")
        .iter()
        .map(|segment| {
            heatpipe_collector::wal::read_segment(&std::fs::read(&segment.path).unwrap_or_default())
                .0
                .len()
        })
        .sum();
    assert!(logged > 0, "the kill left logged batches to recover");

    // Start again on the same log, then stop gracefully: the leftovers must reach the store.
    let second = start_collector(folder.path());
    let url = second.url.clone();
    assert_eq!(
        reqwest::get(format!("{url}/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert!(second.terminate().success(), "graceful stop exits 0");

    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&store_dir).expect("store"));
    let clicks = stored_clicks(store, SITE, DATE).await;
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !clicks.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged batches lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let doubled: Vec<(&String, &u64)> = clicks
        .iter()
        .filter(|(_, n)| **n != CLICKS_PER_BATCH)
        .collect();
    assert!(
        doubled.is_empty(),
        "batches counted more than once: {doubled:?}"
    );
    assert!(clicks.len() <= sent.load(Ordering::Relaxed));
}

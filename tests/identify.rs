//! `heatpipe('identify', ID)` through a real collector: the batch's id becomes the stream's
//! visitor key (HMAC under the site's secret in the store), the id itself is in no file of the
//! store or of the write-ahead log, and `forget --visitor ID` then erases exactly that
//! visitor's session, also its batch sent before it was identified.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::chunk::decode_chunk;
use heatpipe_core::event::Stream;
use heatpipe_io::secret::{load_secret, visitor_key, visitor_secret_key};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessorConfig, process_day};
use serde_json::json;

const SITE: &str = "shop";
const ID: &str = "crm-4242-identified";

fn batch(session: &str, seq: u64, started_at: i64, identify: Option<&str>) -> serde_json::Value {
    let mut page = json!({
        "url": "https://shop.example/cart",
        "viewport": [1280, 800],
        "document": [1280, 3000],
        "started_at": started_at,
    });
    if let Some(id) = identify {
        page["identify"] = json!(id);
    }
    json!({
        "site": SITE,
        "session": session,
        "seq": seq,
        "page": page,
        "moves": [[100 + seq * 1000, 10, 20]],
        "clicks": [[200 + seq * 1000, 30, 40, "#buy"]],
    })
}

/// Every stream of every chunk in the store.
async fn all_streams(store: &dyn ObjectStore) -> Vec<Stream> {
    let mut streams = Vec::new();
    for meta in store.list("raw/").await.expect("list") {
        if meta.key.ends_with(".hpc") {
            let bytes = store.get(&meta.key).await.expect("get");
            streams.extend(decode_chunk(&bytes).expect("chunk"));
        }
    }
    streams
}

/// Returns the files under `folder` whose bytes contain `needle`.
fn files_containing(folder: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|window| window == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identified_visitor_is_stored_only_as_a_keyed_hash_and_can_be_forgotten() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store_folder = folder.path().join("store");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&store_folder).expect("store"));
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.path().join("wal"));
    config.collector.seal_age_ms = 200;
    let server = ServerHandle::start(store.clone(), config, ServeOptions::default())
        .await
        .expect("server");
    let now = chrono::Utc::now().timestamp_millis();
    let client = reqwest::Client::new();
    let batches = [
        batch("known-visitor", 0, now, None),
        batch("known-visitor", 1, now, Some(ID)),
        batch("anonymous", 0, now, None),
    ];
    for body in &batches {
        let response = client
            .post(format!("{}/v1/collect", server.url()))
            .json(body)
            .send()
            .await
            .expect("post");
        assert_eq!(
            response.status().as_u16(),
            200,
            "{:?}",
            response.text().await
        );
    }
    let too_long = batch("other", 0, now, Some(&"x".repeat(300)));
    let refused = client
        .post(format!("{}/v1/collect", server.url()))
        .json(&too_long)
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status().as_u16(), 400);
    assert!(
        files_containing(&folder.path().join("wal"), ID.as_bytes()).is_empty(),
        "the log holds no id"
    );
    server.shutdown().await;

    let secret = load_secret(store.as_ref(), &visitor_secret_key(SITE))
        .await
        .expect("read")
        .expect("the collector made the site's secret");
    let key = visitor_key(&secret, ID);
    let mut keys: Vec<(String, u64, Option<String>)> = all_streams(store.as_ref())
        .await
        .into_iter()
        .map(|s| (s.session_id, s.batch_seq, s.page.visitor_key))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            ("anonymous".to_owned(), 0, None),
            ("known-visitor".to_owned(), 0, None),
            ("known-visitor".to_owned(), 1, Some(key.clone())),
        ]
    );
    assert_eq!(
        files_containing(folder.path(), ID.as_bytes()),
        Vec::<String>::new(),
        "no file of the store or the log holds the id"
    );

    let today = chrono::Utc::now().date_naive();
    process_day(
        store.clone(),
        &ProcessorConfig::default().options(SITE, today),
    )
    .await
    .expect("process");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .args(["forget", "--site", SITE, "--visitor", ID, "--store"])
            .arg(&store_folder)
            .env("RUST_LOG", "error")
            .output()
            .expect("run heatpipe")
    })
    .await
    .expect("join");
    assert!(output.status.success(), "{output:?}");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("removed 1 session(s), 2 stream(s)"), "{out}");
    let left: Vec<String> = all_streams(store.as_ref())
        .await
        .into_iter()
        .map(|s| s.session_id)
        .collect();
    assert_eq!(left, ["anonymous"]);
}

//! What the DOM replay tests share: a server on a store with its own log, every byte a folder
//! holds, the decoded events of the replay lane, and the check that none of them holds a word.

use std::path::Path;
use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::replay::compact::decode_object;
use heatpipe_io::store::ObjectStore;

/// A server with its log in `wal_dir`, no periodic processing and no rate limit.
fn collector_config(wal_dir: &Path) -> Config {
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(wal_dir.to_path_buf());
    config.collector.rate_limit_per_s = 0;
    config
}

/// Starts a server (collector and read side) on `store` with its log in `wal_dir`.
pub async fn start_server(store: Arc<dyn ObjectStore>, wal_dir: &Path) -> ServerHandle {
    ServerHandle::start(store, collector_config(wal_dir), ServeOptions::default())
        .await
        .expect("server")
}

/// Every file under `folder`, recursively, with its bytes.
pub fn files(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path.display().to_string(), bytes));
        }
    }
    found
}

/// Fails the test when `bytes` (`what`) hold any of `words`.
pub fn assert_none_of(words: &[&str], what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for word in words {
        assert!(!text.contains(word), "{word:?} found in {what}");
    }
}

/// The decoded events of every replay lane object under `prefix`, one per line.
pub async fn decoded_lane(store: &dyn ObjectStore, prefix: &str) -> String {
    let mut decoded = String::new();
    for meta in store.list(prefix).await.expect("list") {
        if !meta.key.ends_with(".hpd") {
            continue;
        }
        let object = store.get(&meta.key).await.expect("get");
        for session in decode_object(&object).expect("replay object") {
            for event in session.events {
                decoded.push_str(&event.json);
                decoded.push('\n');
            }
        }
    }
    decoded
}

//! Helpers shared by the tests: a demo server, the playwright-core folder and running its
//! scripts (browser tests); a real collector process, a tmpfs log disk, load and hostile
//! clients, a health and memory monitor, and the processed day's sessions (fault tests); the DOM
//! replay tests' checks on stored bytes.
// Each test binary uses some of them.
#![allow(dead_code)]

pub mod collector_process;
pub mod hostile;
pub mod load;
pub mod monitor;
pub mod replay;
pub mod rig;
pub mod stored;
pub mod target;
pub mod tmpfs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_io::store::{LocalStore, ObjectStore};

/// A demo server (collector, read API, demo site; no periodic processing) on 127.0.0.1 over a
/// local store in `folder`; returns it with its store and configuration.
pub async fn demo_server(folder: &Path) -> (ServerHandle, Arc<dyn ObjectStore>, Config) {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.join("store")).expect("store"));
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.join("wal"));
    let server = ServerHandle::start(
        store.clone(),
        config.clone(),
        ServeOptions {
            demo_site: Some("demo".into()),
            ..ServeOptions::default()
        },
    )
    .await
    .expect("server");
    (server, store, config)
}

/// `tests/browser/`, with playwright-core installed (by `npm ci`) if it is not there yet.
pub fn browser_folder() -> PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !folder.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--silent"])
            .current_dir(&folder)
            .status()
            .expect("npm is installed");
        assert!(status.success(), "npm ci in {} failed", folder.display());
    }
    folder
}

/// Runs `node SCRIPT ARGS…` in `tests/browser/` off the async runtime and returns the JSON it
/// prints; fails the test with the script's stderr if it fails.
pub async fn run_script(script: &str, args: Vec<String>) -> serde_json::Value {
    let folder = browser_folder();
    let script = script.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(folder)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    assert!(
        output.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("script prints JSON")
}

/// Where the browser tests keep their screenshots: `target/browser-screenshots/`.
pub fn screenshot_folder() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let folder = target.join("browser-screenshots");
    std::fs::create_dir_all(&folder).expect("screenshot folder");
    folder
}

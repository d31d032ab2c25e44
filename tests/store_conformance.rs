//! Every store backend passes the same suite: memory, a local folder, and S3 over HTTP against
//! a real S3-compatible server (s3s-fs) on 127.0.0.1; and so does the `RetryStore` every command
//! wraps them in.

use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_io::store::conformance::store_test_suite;
use std::sync::Arc;

use heatpipe_io::store::{
    LocalStore, MemoryStore, ObjectStore, RetrySettings, RetryStore, StoreLocation, open_store,
};

#[tokio::test]
async fn memory_store_passes_the_suite() {
    store_test_suite(&MemoryStore::new()).await;
}

#[tokio::test]
async fn local_store_passes_the_suite() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(folder.path()).expect("open");
    store_test_suite(&store).await;
    // Atomic writes leave no temporary files behind.
    let leftovers: Vec<_> = walk(folder.path())
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn s3_store_passes_the_suite() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "heatpipe-test")
        .await
        .expect("s3 server");
    store_test_suite(&server.store("heatpipe-test", "")).await;
}

#[tokio::test]
async fn retry_store_around_s3_passes_the_suite() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "heatpipe-test")
        .await
        .expect("s3 server");
    let store = RetryStore::new(
        Arc::new(server.store("heatpipe-test", "")),
        RetrySettings::default(),
    );
    store_test_suite(&store).await;
}

#[tokio::test]
async fn an_opened_local_store_passes_the_suite() {
    let folder = tempfile::tempdir().expect("tempdir");
    let location = StoreLocation::Local {
        root: folder.path().to_path_buf(),
    };
    let store = open_store(&location).await.expect("open");
    store_test_suite(store.as_ref()).await;
}

#[tokio::test]
async fn s3_store_keeps_keys_under_its_prefix() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "bucket")
        .await
        .expect("s3 server");
    let store = server.store("bucket", "tenant/a");
    store_test_suite(&store).await;
    let other = server.store("bucket", "tenant/b");
    assert!(
        other.list("").await.expect("list").is_empty(),
        "another prefix sees nothing"
    );
    let bare = server.store("bucket", "");
    let keys = bare.list("").await.expect("list");
    assert!(
        !keys.is_empty() && keys.iter().all(|m| m.key.starts_with("tenant/a/")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn s3_store_with_wrong_credentials_is_unauthorized() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "bucket")
        .await
        .expect("s3 server");
    let settings = heatpipe_io::store::S3Settings {
        secret_access_key: "wrong".into(),
        ..server.settings()
    };
    let store = heatpipe_io::store::S3Store::from_settings(&settings, "bucket", "");
    let err = store
        .put("a", bytes::Bytes::from_static(b"x"))
        .await
        .expect_err("bad signature");
    assert_eq!(
        err.kind,
        heatpipe_io::store::StoreErrorKind::Unauthorized,
        "{err}"
    );
}

#[tokio::test]
async fn s3_store_reports_an_unreachable_server_as_unavailable() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(folder.path(), "bucket")
        .await
        .expect("s3 server");
    let store = server.store("bucket", "");
    drop(server);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = store.get("anything").await.expect_err("server is gone");
    assert_eq!(
        err.kind,
        heatpipe_io::store::StoreErrorKind::Unavailable,
        "a refused connection: {err}"
    );
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

//! The one suite every [`ObjectStore`] backend must pass; each backend's test calls
//! [`store_test_suite`] on a fresh, empty store.

use bytes::Bytes;

use super::{ObjectStore, StoreErrorKind};

/// Checks the trait's contract on `store`, which must start empty. Panics on the first breach.
pub async fn store_test_suite(store: &dyn ObjectStore) {
    puts_then_gets_the_same_bytes(store).await;
    overwrites_replace_the_object(store).await;
    missing_objects_are_not_found(store).await;
    ranged_reads_are_cut_at_the_end(store).await;
    lists_by_prefix_in_key_order(store).await;
    deletes_are_idempotent(store).await;
    hostile_keys_are_refused(store).await;
    empty_and_large_objects_round_trip(store).await;
}

async fn puts_then_gets_the_same_bytes(store: &dyn ObjectStore) {
    let bytes = Bytes::from_static(b"heatpipe chunk bytes");
    store
        .put("suite/a/one.hpc", bytes.clone())
        .await
        .expect("put");
    assert_eq!(store.get("suite/a/one.hpc").await.expect("get"), bytes);
}

async fn overwrites_replace_the_object(store: &dyn ObjectStore) {
    store
        .put("suite/over", Bytes::from_static(b"first version, longer"))
        .await
        .expect("put");
    store
        .put("suite/over", Bytes::from_static(b"second"))
        .await
        .expect("put");
    assert_eq!(
        store.get("suite/over").await.expect("get"),
        Bytes::from_static(b"second")
    );
    let listed = store.list("suite/over").await.expect("list");
    assert_eq!(
        listed.len(),
        1,
        "an overwrite must not leave a second object: {listed:?}"
    );
    assert_eq!(listed[0].size_bytes, 6);
}

async fn missing_objects_are_not_found(store: &dyn ObjectStore) {
    let err = store
        .get("suite/missing")
        .await
        .expect_err("get of a missing key");
    assert_eq!(err.kind, StoreErrorKind::NotFound, "{err}");
    let err = store
        .get_range("suite/missing", 0..10)
        .await
        .expect_err("ranged get of a missing key");
    assert_eq!(err.kind, StoreErrorKind::NotFound, "{err}");
}

async fn ranged_reads_are_cut_at_the_end(store: &dyn ObjectStore) {
    store
        .put("suite/range", Bytes::from_static(b"0123456789"))
        .await
        .expect("put");
    let read = |start, end| store.get_range("suite/range", start..end);
    assert_eq!(read(2, 5).await.expect("range"), Bytes::from_static(b"234"));
    assert_eq!(
        read(0, 10).await.expect("range"),
        Bytes::from_static(b"0123456789")
    );
    assert_eq!(
        read(7, 100).await.expect("range"),
        Bytes::from_static(b"789")
    );
    assert_eq!(read(10, 20).await.expect("range"), Bytes::new());
    assert_eq!(read(4, 4).await.expect("range"), Bytes::new());
}

async fn lists_by_prefix_in_key_order(store: &dyn ObjectStore) {
    for key in [
        "suite/list/b/2",
        "suite/list/a/1",
        "suite/list/b/1",
        "suite/listing",
        "suite/lis",
    ] {
        store
            .put(key, Bytes::from(key.as_bytes().to_vec()))
            .await
            .expect("put");
    }
    let keys = |prefix: &'static str| async move {
        store
            .list(prefix)
            .await
            .expect("list")
            .into_iter()
            .map(|m| m.key)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys("suite/list/").await,
        ["suite/list/a/1", "suite/list/b/1", "suite/list/b/2"]
    );
    assert_eq!(
        keys("suite/list/b").await,
        ["suite/list/b/1", "suite/list/b/2"]
    );
    assert_eq!(keys("suite/listi").await, ["suite/listing"]);
    assert_eq!(
        keys("suite/list").await,
        [
            "suite/list/a/1",
            "suite/list/b/1",
            "suite/list/b/2",
            "suite/listing"
        ]
    );
    assert!(keys("nothing/here/").await.is_empty());
    let sized = store.list("suite/list/a/").await.expect("list");
    assert_eq!(sized[0].size_bytes, "suite/list/a/1".len() as u64);
}

async fn deletes_are_idempotent(store: &dyn ObjectStore) {
    store
        .put("suite/delete/me", Bytes::from_static(b"x"))
        .await
        .expect("put");
    store.delete("suite/delete/me").await.expect("delete");
    assert_eq!(
        store
            .get("suite/delete/me")
            .await
            .expect_err("deleted")
            .kind,
        StoreErrorKind::NotFound
    );
    store
        .delete("suite/delete/me")
        .await
        .expect("deleting a missing key is fine");
    assert!(store.list("suite/delete/").await.expect("list").is_empty());
}

async fn hostile_keys_are_refused(store: &dyn ObjectStore) {
    for key in ["../escape", "/etc/passwd", "a/../../b", "", "a//b"] {
        let err = store
            .put(key, Bytes::from_static(b"x"))
            .await
            .expect_err(key);
        assert_eq!(err.kind, StoreErrorKind::InvalidKey, "{key}: {err}");
    }
}

async fn empty_and_large_objects_round_trip(store: &dyn ObjectStore) {
    store
        .put("suite/empty", Bytes::new())
        .await
        .expect("put empty");
    assert_eq!(
        store.get("suite/empty").await.expect("get empty"),
        Bytes::new()
    );
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    store
        .put("suite/large", Bytes::from(large.clone()))
        .await
        .expect("put large");
    assert_eq!(
        store.get("suite/large").await.expect("get large"),
        Bytes::from(large.clone())
    );
    let middle = store
        .get_range("suite/large", 1_000_000..1_000_100)
        .await
        .expect("range");
    assert_eq!(&middle[..], &large[1_000_000..1_000_100]);
}

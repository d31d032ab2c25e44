//! A store that fails to give a chunk it listed fails the run, and the run writes nothing: no
//! page aggregate, no page index, no session index, no shard partial. (Corrupt chunks are
//! skipped instead: `process_day.rs`.) Transient failures against a real S3 server are in the
//! root crate's `tests/store_faults.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, processing_outputs, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore, StoreErrorKind};
use heatpipe_processor::{ProcessError, ProcessOptions, ProgressHook, Shard, process_day};

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";

/// A local store in `folder` holding a day of 60 sessions in chunks of 10 batches; returns the
/// chunks' keys.
async fn store_with_day(folder: &Path) -> (Arc<dyn ObjectStore>, Vec<String>) {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder).expect("store"));
    let start = date_start_ms(parse_date(DATE).expect("date"));
    let streams = generate_traffic(&TrafficSpec {
        seed: 5,
        origin: "https://shop.example".into(),
        num_sessions: 60,
        window_ms: start..start + 86_400_000,
    });
    let keys = write_chunks(store.as_ref(), SITE, "c1", &streams, 10)
        .await
        .expect("write");
    (store, keys)
}

/// Options of a run in windows of 2 chunks that, once the first window is done, deletes the
/// file of chunk `doomed` behind the store's back: listed, then gone.
fn deleting_after_the_first_window(doomed: PathBuf) -> ProcessOptions {
    let doomed = Mutex::new(Some(doomed));
    let mut options = ProcessOptions::new(SITE, parse_date(DATE).expect("date"));
    options.window_chunks = 2;
    options.fetch_concurrency = 2;
    options.progress = Some(ProgressHook(Arc::new(move |_, _| {
        let taken = doomed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(path) = taken {
            std::fs::remove_file(path).expect("delete the chunk");
        }
    })));
    options
}

#[tokio::test]
async fn a_chunk_that_vanishes_after_the_listing_fails_the_run_and_nothing_is_written() {
    for shard in [None, Some(Shard { index: 0, count: 1 })] {
        let folder = tempfile::tempdir().expect("tempdir");
        let (store, keys) = store_with_day(folder.path()).await;
        assert!(keys.len() > 4, "{} chunks", keys.len());
        let doomed = keys.last().expect("chunks").clone();
        let mut options = deleting_after_the_first_window(folder.path().join(&doomed));
        options.shard = shard;

        let err = process_day(store.clone(), &options)
            .await
            .expect_err("a listed chunk is gone");
        assert_eq!(err.store_kind(), Some(StoreErrorKind::NotFound), "{err}");
        match &err {
            ProcessError::Chunk { key, .. } => assert_eq!(key, &doomed),
            other => panic!("not a chunk error: {other}"),
        }
        assert!(err.to_string().contains(&doomed), "{err}");
        let written = store.list("").await.expect("list");
        let outputs: Vec<&str> = written
            .iter()
            .map(|m| m.key.as_str())
            .filter(|key| !key.starts_with("raw/"))
            .collect();
        assert!(outputs.is_empty(), "{shard:?} wrote {outputs:?}");
    }
}

#[tokio::test]
async fn a_failed_rerun_leaves_the_previous_outputs_as_they_were() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (store, keys) = store_with_day(folder.path()).await;
    let date = parse_date(DATE).expect("date");
    process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("first run");
    let before = processing_outputs(store.as_ref()).await.expect("outputs");
    assert!(!before.is_empty());

    // A later chunk arrives, so a rerun would write other bytes, but one chunk goes missing
    // during the rerun.
    let late = write_chunks(
        store.as_ref(),
        SITE,
        "c2",
        &generate_traffic(&TrafficSpec {
            seed: 6,
            origin: "https://shop.example".into(),
            num_sessions: 5,
            window_ms: date_start_ms(date)..date_start_ms(date) + 3_600_000,
        }),
        10,
    )
    .await
    .expect("late chunk");
    assert!(!late.is_empty());
    let doomed = keys.last().expect("chunks").clone();
    let err = process_day(
        store.clone(),
        &deleting_after_the_first_window(folder.path().join(&doomed)),
    )
    .await
    .expect_err("a listed chunk is gone");
    assert_eq!(err.store_kind(), Some(StoreErrorKind::NotFound), "{err}");
    assert_eq!(
        processing_outputs(store.as_ref()).await.expect("outputs"),
        before,
        "nothing of the failed run is written"
    );
    // Corrupt bytes where the chunk was are skipped and reported, as ever, and the day is
    // written.
    store
        .put(&doomed, Bytes::from_static(b"not a chunk"))
        .await
        .expect("put");
    let summary = process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("a corrupt chunk is skipped");
    assert_eq!(summary.chunks_skipped, 1);
    assert_eq!(summary.skipped[0].0, doomed);
    assert_ne!(
        processing_outputs(store.as_ref()).await.expect("outputs"),
        before
    );
}

//! `--shard I/N` plus `merge` writes exactly what one run writes, byte for byte, even when a
//! page view's batches and a retried batch's copies sit in chunks of different shards.

use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, processing_outputs, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{
    MergeOptions, ProcessOptions, ProcessorConfig, Shard, merge_shards, process_day,
};

const SITE: &str = "shop";

async fn outputs(store: &dyn ObjectStore) -> Vec<(String, Bytes)> {
    processing_outputs(store).await.expect("outputs")
}

async fn clear_outputs(store: &dyn ObjectStore) {
    clear(store, &["agg/", "sessions/", "partial/"]).await;
}

async fn clear(store: &dyn ObjectStore, prefixes: &[&str]) {
    for prefix in prefixes {
        for meta in store.list(prefix).await.expect("list") {
            store.delete(&meta.key).await.expect("delete");
        }
    }
}

#[tokio::test]
async fn sharded_runs_merge_to_the_single_run_bytes() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path()).expect("store"));
    let date = parse_date("2026-11-21").expect("date");
    let start = date_start_ms(date);
    let streams = generate_traffic(&TrafficSpec {
        seed: 5,
        origin: "https://shop.example".into(),
        num_sessions: 120,
        window_ms: start..start + 86_400_000,
    });
    // Small chunks, so most page views are spread over several chunks (and shards)…
    let keys = write_chunks(store.as_ref(), SITE, "c1", &streams, 5)
        .await
        .expect("write");
    // …and a second copy of some batches under another collector: retried uploads.
    write_chunks(store.as_ref(), SITE, "c2", &streams[40..90], 3)
        .await
        .expect("write repeats");
    assert!(keys.len() > 30, "{} chunks", keys.len());

    let single = process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("single run");
    assert_eq!(single.duplicate_streams, 50);
    let expected = outputs(store.as_ref()).await;
    assert!(expected.len() > 2, "pages, page index and session index");

    for count in [3u32, 2] {
        clear_outputs(store.as_ref()).await;
        let mut duplicates = 0;
        let mut streams_seen = 0;
        for index in 0..count {
            let mut options = ProcessOptions::new(SITE, date);
            options.shard = Some(Shard { index, count });
            let summary = process_day(store.clone(), &options)
                .await
                .expect("shard run");
            duplicates += summary.duplicate_streams;
            streams_seen += summary.streams;
        }
        assert_eq!(duplicates, 50, "{count} shards drop each repeat once");
        assert_eq!(streams_seen, streams.len() as u64);
        assert!(
            outputs(store.as_ref()).await.is_empty(),
            "shards write partials only"
        );
        assert_eq!(
            store.list("partial/").await.expect("list").len(),
            count as usize
        );
        let partial_bytes: u64 = store
            .list("partial/")
            .await
            .expect("list")
            .iter()
            .map(|listed| listed.size_bytes)
            .sum();
        // In one pass, and in three over a third of the partials' bytes each.
        for (passes, pass_partial_bytes) in [(1, u64::MAX), (3, partial_bytes.div_ceil(3))] {
            clear(store.as_ref(), &["agg/", "sessions/"]).await;
            let options = MergeOptions {
                pass_partial_bytes,
                spill_dir: std::env::temp_dir(),
            };
            let merged = merge_shards(store.clone(), SITE, date, count, &options)
                .await
                .expect("merge");
            assert_eq!(merged.passes, passes);
            assert_eq!(
                (merged.events, merged.sessions),
                (single.events, single.sessions)
            );
            let got = outputs(store.as_ref()).await;
            assert_eq!(
                got.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                expected.iter().map(|(k, _)| k).collect::<Vec<_>>()
            );
            for ((key, bytes), (_, want)) in got.iter().zip(&expected) {
                assert!(
                    bytes == want,
                    "{key} differs after merging {count} shards in {passes} passes"
                );
            }
        }
    }
}

#[tokio::test]
async fn merge_names_a_missing_or_corrupt_partial() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path()).expect("store"));
    let date = parse_date("2026-11-21").expect("date");
    let options = ProcessorConfig::default().merge_options();
    let missing = merge_shards(store.clone(), SITE, date, 2, &options)
        .await
        .expect_err("no partials");
    assert!(
        missing.to_string().contains("shard-0000-of-0002"),
        "{missing}"
    );
    store
        .put(
            "partial/shop/2026-11-21/shard-0000-of-0001.hpp",
            Bytes::from_static(b"not a partial"),
        )
        .await
        .expect("put");
    let corrupt = merge_shards(store.clone(), SITE, date, 1, &options)
        .await
        .expect_err("corrupt partial");
    assert!(
        corrupt.to_string().contains("shard-0000-of-0001.hpp"),
        "{corrupt}"
    );
}

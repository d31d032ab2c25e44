//! `process_day` over a real local store: exact counts, repeated batches counted once, corrupt
//! chunks skipped and reported, and reruns that write the same bytes.

use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::keys::{parse_date, raw_day_prefix, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, processing_outputs, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{MergeOptions, ProcessOptions, Shard, merge_shards, process_day};

const SITE: &str = "demo";

fn day_traffic() -> Vec<heatpipe_core::event::Stream> {
    let date = parse_date("2026-11-21").expect("date");
    let start = heatpipe_core::keys::date_start_ms(date);
    generate_traffic(&TrafficSpec {
        seed: 11,
        origin: "https://demo.example".into(),
        num_sessions: 150,
        window_ms: start..start + 86_400_000,
    })
}

async fn all_outputs(store: &dyn ObjectStore) -> Vec<(String, Bytes)> {
    processing_outputs(store).await.expect("outputs")
}

/// A store in a fresh folder (kept while the folder is), holding the day's traffic in chunks
/// of `streams_per_chunk` batches; returns the chunks' keys too.
async fn store_with_day(
    streams: &[heatpipe_core::event::Stream],
    streams_per_chunk: usize,
) -> (tempfile::TempDir, Arc<dyn ObjectStore>, Vec<String>) {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path()).expect("store"));
    let keys = write_chunks(store.as_ref(), SITE, "c1", streams, streams_per_chunk)
        .await
        .expect("write");
    (folder, store, keys)
}

/// The compressed bytes of the day's chunks.
async fn day_bytes(store: &dyn ObjectStore, date: chrono::NaiveDate) -> u64 {
    store
        .list(&raw_day_prefix(SITE, date))
        .await
        .expect("list")
        .iter()
        .map(|m| m.size_bytes)
        .sum()
}

#[tokio::test]
async fn counts_are_exact_and_repeats_count_once() {
    let streams = day_traffic();
    let (_folder, store, _) = store_with_day(&streams, 40).await;
    // The same batches again under another collector's keys: a retried upload.
    write_chunks(store.as_ref(), SITE, "c2", &streams[..100], 40)
        .await
        .expect("write repeats");

    let date = parse_date("2026-11-21").expect("date");
    let summary = process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    assert_eq!(summary.duplicate_streams, 100);
    assert_eq!(summary.streams, streams.len() as u64);
    assert_eq!(
        summary.events,
        streams.iter().map(|s| s.num_events() as u64).sum::<u64>()
    );

    let index = PageIndex::decode(
        &store
            .get(&heatpipe_core::keys::pages_key(SITE, date))
            .await
            .expect("pages"),
    )
    .expect("decode");
    let total_clicks: u64 = index.pages.iter().map(|p| p.clicks).sum();
    assert_eq!(
        total_clicks,
        streams.iter().map(|s| s.clicks.len() as u64).sum::<u64>()
    );
    let mut views: Vec<(String, u32)> = streams
        .iter()
        .map(|s| (s.session_id.clone(), s.page_view_index))
        .collect();
    views.sort();
    views.dedup();
    assert_eq!(
        index.pages.iter().map(|p| p.views).sum::<u64>(),
        views.len() as u64
    );
    for page in &index.pages {
        let agg = PageAgg::decode(
            &store
                .get(&heatpipe_core::keys::page_agg_key(SITE, date, &page.key))
                .await
                .expect("agg"),
        )
        .expect("decode");
        assert_eq!(agg.combined(|_| true).click_grid.total(), page.clicks);
    }
    let sessions = SessionIndex::decode(
        &store
            .get(&session_index_key(SITE, date))
            .await
            .expect("sessions"),
    )
    .expect("decode");
    assert_eq!(sessions.sessions.len(), 150);
}

#[tokio::test]
async fn corrupt_chunks_are_skipped_and_reported_and_reruns_are_byte_identical() {
    let streams = day_traffic();
    let (_folder, store, keys) = store_with_day(&streams, 40).await;
    let date = parse_date("2026-11-21").expect("date");
    let damaged_key = format!("{}00/zz-garbage.hpc", raw_day_prefix(SITE, date));
    store
        .put(&damaged_key, Bytes::from_static(b"HPCK\x01\x00not a chunk"))
        .await
        .expect("put");
    let mut flipped = store.get(&keys[0]).await.expect("get").to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    store
        .put(&keys[0], Bytes::from(flipped))
        .await
        .expect("put");

    let first = process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    assert_eq!((first.chunks_skipped, first.blocks_skipped), (1, 1));
    let reasons: Vec<&str> = first.skipped.iter().map(|(key, _)| key.as_str()).collect();
    assert!(
        reasons.contains(&damaged_key.as_str()) && reasons.contains(&keys[0].as_str()),
        "{reasons:?}"
    );
    let outputs = all_outputs(store.as_ref()).await;

    let options = ProcessOptions {
        window_chunks: 3,
        fetch_concurrency: 2,
        ..ProcessOptions::new(SITE, date)
    };
    let second = process_day(store.clone(), &options).await.expect("rerun");
    assert_eq!(second.events, first.events);
    assert_eq!(
        all_outputs(store.as_ref()).await,
        outputs,
        "a rerun with other windows writes the same bytes"
    );

    // A memory budget of a third of the day's chunk bytes: three passes, the same bytes.
    let day_bytes = day_bytes(store.as_ref(), date).await;
    let options = ProcessOptions {
        pass_chunk_bytes: day_bytes.div_ceil(3),
        ..ProcessOptions::new(SITE, date)
    };
    let third = process_day(store.clone(), &options)
        .await
        .expect("three passes");
    assert_eq!(third.passes, 3);
    assert_eq!(
        (third.events, third.streams, third.duplicate_streams),
        (first.events, first.streams, first.duplicate_streams)
    );
    assert_eq!(
        (
            third.chunks_skipped,
            third.blocks_skipped,
            third.skipped.len()
        ),
        (1, 1, 2),
        "each damaged chunk is reported once, not once per pass"
    );
    assert_eq!(
        all_outputs(store.as_ref()).await,
        outputs,
        "three passes write the bytes of one"
    );
}

/// Sessions are finished once the window holding their last batch is aggregated. Whatever the
/// windows, and across several passes, that writes the bytes of finishing every session at the
/// end of the run (what merging a single shard does, since a shard finishes none).
#[tokio::test]
async fn sessions_finished_as_they_complete_write_the_bytes_of_finishing_them_at_the_end() {
    // Two batches a chunk: sessions span several chunks, and there are more chunks than the
    // header scan decodes at once.
    let (_folder, store, keys) = store_with_day(&day_traffic(), 2).await;
    assert!(keys.len() > 150, "{} chunks", keys.len());
    let date = parse_date("2026-11-21").expect("date");

    let mut shard = ProcessOptions::new(SITE, date);
    shard.shard = Some(Shard { index: 0, count: 1 });
    process_day(store.clone(), &shard).await.expect("shard");
    let merge = MergeOptions {
        pass_partial_bytes: u64::MAX,
        spill_dir: std::env::temp_dir(),
    };
    merge_shards(store.clone(), SITE, date, 1, &merge)
        .await
        .expect("merge");
    let at_the_end = all_outputs(store.as_ref()).await;

    let day_bytes = day_bytes(store.as_ref(), date).await;
    for (window_chunks, passes) in [(1, 1), (7, 1), (32, 1), (5, 3)] {
        let options = ProcessOptions {
            window_chunks,
            pass_chunk_bytes: day_bytes.div_ceil(passes),
            ..ProcessOptions::new(SITE, date)
        };
        let summary = process_day(store.clone(), &options).await.expect("process");
        assert_eq!(summary.passes, passes as u32);
        assert_eq!(summary.sessions, 150);
        // The sessions ending in a pass's last window are finished with the rest of the pass.
        assert!(
            summary.sessions_finished_early > 0 && summary.sessions_finished_early < 150,
            "{} finished early with windows of {window_chunks}",
            summary.sessions_finished_early
        );
        assert!(
            all_outputs(store.as_ref()).await == at_the_end,
            "windows of {window_chunks} chunks in {passes} passes"
        );
    }
}

#[tokio::test]
async fn the_session_index_carries_visitor_keys_active_time_and_scroll_depth() {
    use heatpipe_fixtures::SessionBuilder;
    let date = parse_date("2026-11-21").expect("date");
    let start = heatpipe_core::keys::date_start_ms(date) + 3_600_000;
    // View 0: moves at 0, 1 s and 2 s (2 s active), a 10 s pause, a click at 12 s and a scroll
    // at 13 s (1 s active): 3 s active. It is sent in two batches, so the gap between them
    // (2 s → 12 s) must stay inactive. View 1: two moves 500 ms apart.
    let mut streams = SessionBuilder::new("identified", "https://demo.example/", start)
        .visitor_key("0123456789abcdef0123456789abcdef")
        .viewport(1280, 800)
        .document(1280, 4000)
        .moves(&[(0, 1, 1), (1_000, 2, 2), (2_000, 3, 3)])
        .click(12_000, 5, 5, "#buy")
        .scroll(13_000, 1_200)
        .next_page("https://demo.example/cart", 20_000)
        .moves(&[(100, 1, 1), (600, 2, 2)])
        .build();
    let mut second_batch = streams[0].clone();
    second_batch.batch_seq = 5;
    second_batch.moves.clear();
    streams[0].clicks.clear();
    streams[0].scrolls.clear();
    second_batch.page.visitor_key = None;
    streams.push(second_batch);
    streams.extend(SessionBuilder::new("anonymous", "https://demo.example/", start + 1).build());
    let (_folder, store, _) = store_with_day(&streams, 2).await;
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
    let identified = index
        .sessions
        .iter()
        .find(|s| s.id == "identified")
        .expect("session");
    assert_eq!(
        identified.visitor_key.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    let views: Vec<(u64, u32, u32)> = identified
        .page_views
        .iter()
        .map(|v| (v.active_ms, v.max_depth_px, v.document_height_px))
        .collect();
    assert_eq!(views, [(3_000, 2_000, 4_000), (500, 800, 4_000)]);
    assert_eq!(identified.active_ms, 3_500);
    assert_eq!(identified.page_views[0].scroll_depth_percent(), Some(50.0));
    let anonymous = index
        .sessions
        .iter()
        .find(|s| s.id == "anonymous")
        .expect("session");
    assert_eq!(anonymous.visitor_key, None);
}

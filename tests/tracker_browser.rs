//! The tracker in real headless Chromium (Debian's `chromium`, driven by playwright-core from
//! `tests/browser/`): real pointer moves, clicks and wheel scrolling on the demo page; afterwards
//! the store holds exactly those clicks at the right page coordinates, the scroll depth reached,
//! the tag the page set, and the visitor key of the id it identified the visitor with (never the
//! id itself).

use heatpipe_core::chunk::decode_chunk;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::raw_day_prefix;
use heatpipe_io::secret::{load_secret, visitor_key, visitor_secret_key};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracker_records_real_clicks_scrolls_and_tags_in_chromium() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (server, store, _) = common::demo_server(folder.path()).await;

    let done = common::run_script("tracker.mjs", vec![server.url()]).await;
    server.shutdown().await;

    let session = done["session"].as_str().expect("session id");
    let today = chrono::Utc::now().date_naive();
    let mut streams: Vec<Stream> = Vec::new();
    for meta in store
        .list(&raw_day_prefix("demo", today))
        .await
        .expect("list")
    {
        streams.extend(decode_chunk(&store.get(&meta.key).await.expect("get")).expect("decode"));
    }
    let ours: Vec<&Stream> = streams.iter().filter(|s| s.session_id == session).collect();
    assert!(!ours.is_empty(), "no batch of session {session} was stored");
    assert!(ours.iter().all(|s| s.page.url.ends_with("/demo/")));

    let mut clicks: Vec<(u32, i32, i32, String)> = ours
        .iter()
        .flat_map(|s| {
            s.clicks
                .iter()
                .map(|c| (c.t_ms, c.x, c.y, c.selector.clone()))
        })
        .collect();
    clicks.sort();
    let expected: Vec<(i64, i64, String)> = done["clicks"]
        .as_array()
        .expect("clicks")
        .iter()
        .map(|c| {
            (
                c["x"].as_i64().expect("x"),
                c["y"].as_i64().expect("y"),
                c["selector"].as_str().expect("selector").to_owned(),
            )
        })
        .collect();
    let stored: Vec<(i64, i64, String)> = clicks
        .into_iter()
        .map(|(_, x, y, selector)| (i64::from(x), i64::from(y), selector))
        .collect();
    assert_eq!(
        stored, expected,
        "exactly the clicks made, at their page coordinates, on their elements"
    );

    let moves: usize = ours.iter().map(|s| s.moves.len()).sum();
    assert!(moves >= 5, "pointer trails were recorded ({moves} moves)");
    let deepest = ours
        .iter()
        .map(|s| s.max_depth_px())
        .max()
        .expect("streams");
    let reached = done["scrollY"].as_u64().expect("scrollY")
        + done["viewportHeight"].as_u64().expect("height");
    assert_eq!(u64::from(deepest), reached, "scroll depth reached");
    let mut batches = ours.clone();
    batches.sort_by_key(|s| s.batch_seq);
    let scroll_times: Vec<u32> = batches
        .iter()
        .flat_map(|s| s.scrolls.iter().map(|scroll| scroll.t_ms))
        .collect();
    assert!(scroll_times.len() >= 2, "scrolls {scroll_times:?}");
    assert!(
        scroll_times.windows(2).all(|pair| pair[1] >= pair[0] + 100),
        "one scroll sample per 100 ms at most: {scroll_times:?}"
    );
    let tags = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(
        ours.iter()
            .any(|s| s.page.tags == tags(&[("variant", "B"), ("visitor", "new")])),
        "the page's tag and a first visit are stored"
    );
    let returning = done["returningSession"]
        .as_str()
        .expect("second session id");
    assert_ne!(returning, session, "a new tab starts a new session");
    let again: Vec<&Stream> = streams
        .iter()
        .filter(|s| s.session_id == returning)
        .collect();
    assert!(!again.is_empty(), "the second visit was stored");
    assert!(
        again
            .iter()
            .all(|s| s.page.tags == tags(&[("visitor", "returning")])),
        "the second visit is a returning visitor's"
    );
    assert!(
        ours.iter().all(|s| s.page.document_height_px == 2600),
        "document height is the demo page's"
    );
    let secret = load_secret(store.as_ref(), &visitor_secret_key("demo"))
        .await
        .expect("read")
        .expect("the collector made the site's visitor secret");
    let key = visitor_key(&secret, "crm-browser-1");
    assert!(
        ours.iter()
            .all(|s| s.page.visitor_key.as_deref() == Some(key.as_str())),
        "every batch of the identified tab carries the visitor key"
    );
    assert!(
        again.iter().all(|s| s.page.visitor_key.is_none()),
        "the second tab was not identified"
    );
    let mut files = vec![folder.path().to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir").flatten() {
                files.push(entry.path());
            }
        } else {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(13).any(|window| window == b"crm-browser-1"),
                "{} holds the identify id",
                path.display()
            );
        }
    }
}

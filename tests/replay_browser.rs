//! DOM replay end to end in real headless Chromium (`tests/browser/replay_e2e.mjs`): a visitor
//! on a test page whose tracker tag carries `data-replay="dom"` types into a form, opens a
//! dialog with a click (the page adds it to the document then) and scrolls. After the upload
//! and the nightly processing, the viewer replays the session from its DOM recording: before the
//! click the replayed document has no dialog, after it the dialog is there and displayed. The
//! page's sentences and the typed string are in no byte of the store or the log, in no decoded
//! replay event, and in no answer of the read API.

use std::sync::Arc;

use heatpipe_core::keys::date_hour_of_ms;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use serde_json::Value;
use tokio::sync::oneshot;
use warp::Filter;

mod common;

use common::replay::{assert_none_of, decoded_lane, files, start_server};

const SITE: &str = "shop";
/// What the visitor types.
const TYPED: &str = "marzipan otter 4412";
/// The page's sentences: recorded masked, never in clear.
const SENTENCES: [&str; 4] = [
    "Winter tyres for the alpine pass",
    "Bookings close on Thursday at five.",
    "Your delivery name",
    "Your voucher for the alpine pass is ready.",
];
/// Words of the sentences and the typed string that no stored byte or answer may hold.
const SECRET_WORDS: [&str; 6] = [
    "alpine", "Thursday", "tyres", "voucher", "marzipan", "otter",
];

fn page_html(collector: &str) -> String {
    let [title, intro, label, dialog] = SENTENCES;
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:16px sans-serif;margin:0;height:2400px}}#dialog{{position:fixed;top:100px;left:300px;width:500px;padding:20px;background:#fff;border:2px solid #333}}</style>
<script src="{collector}/t.js" data-site="{SITE}" data-replay="dom" async></script>
</head><body>
<h1>{title}</h1>
<p>{intro}</p>
<label for="name">{label}</label> <input id="name" type="text">
<button id="open-dialog" type="button">Continue</button>
<script>
  document.getElementById('open-dialog').addEventListener('click', function () {{
    var dialog = document.createElement('div');
    dialog.id = 'dialog';
    dialog.textContent = {dialog:?};
    document.body.appendChild(dialog);
  }});
</script>
</body></html>"#
    )
}

/// Serves the test page at `/` on 127.0.0.1 until the sender is used or dropped.
async fn page_server(collector: String) -> (String, oneshot::Sender<()>) {
    let page = warp::path::end()
        .and(warp::get())
        .map(move || warp::reply::html(page_html(&collector)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = warp::serve(page).incoming(listener).graceful(async {
        let _ = stopped.await;
    });
    tokio::spawn(server.run());
    (format!("http://{address}/"), stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_dialog_replays_after_its_click_and_nothing_typed_is_stored() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (store_dir, wal_dir) = (folder.path().join("store"), folder.path().join("wal"));
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&store_dir).expect("store"));
    let server = start_server(store.clone(), &wal_dir).await;
    let (page, stop_page) = page_server(server.url()).await;
    let recorded =
        common::run_script("replay_e2e.mjs", vec!["record".into(), page, TYPED.into()]).await;
    let _ = stop_page.send(());
    let sid = recorded["sid"].as_str().expect("sid").to_owned();
    let clicked_at = recorded["clicked_at"].as_i64().expect("clicked_at");
    for (path, bytes) in files(&wal_dir) {
        assert_none_of(&SECRET_WORDS, &path, &bytes);
    }
    server.shutdown().await;

    let (date, _) = date_hour_of_ms(clicked_at);
    let mut options = ProcessOptions::new(SITE, date);
    options.compact_replay = true;
    let summary = process_day(store.clone(), &options).await.expect("process");
    assert_eq!(summary.recorded_sessions, 1, "{summary:?}");
    for (path, bytes) in files(&store_dir).iter().chain(files(&wal_dir).iter()) {
        assert_none_of(&SECRET_WORDS, path, bytes);
    }
    let decoded = decoded_lane(store.as_ref(), &format!("replay/{SITE}/")).await;
    assert_none_of(&SECRET_WORDS, "the decoded replay lane", decoded.as_bytes());
    // The sentences were recorded, masked to their length.
    for sentence in SENTENCES {
        let mask = sentence.replace(|c: char| !c.is_whitespace(), "*");
        assert!(
            decoded.contains(&mask),
            "{sentence:?} masked is not in the recording"
        );
    }

    let reader = start_server(store.clone(), &folder.path().join("wal-read")).await;
    for what in ["recording", "timeline"] {
        let response = reqwest::get(format!(
            "{}/api/sites/{SITE}/sessions/{sid}/{what}?date={date}",
            reader.url()
        ))
        .await
        .expect("answers");
        assert_eq!(response.status(), 200, "{what}");
        assert_none_of(&SECRET_WORDS, what, &response.bytes().await.expect("body"));
    }
    let seen = common::run_script(
        "replay_e2e.mjs",
        vec![
            "view".into(),
            reader.url(),
            sid.clone(),
            clicked_at.to_string(),
        ],
    )
    .await;
    reader.shutdown().await;
    assert_eq!(seen["mode"], "dom", "{seen}");
    assert_eq!(seen["errors"], Value::Array(vec![]), "{seen}");
    let (before, after) = (&seen["before"], &seen["after"]);
    assert_eq!(
        before["sandbox"], "allow-same-origin",
        "no scripts run: {seen}"
    );
    assert_eq!(before["has_form"], true, "the page is replayed: {seen}");
    assert_eq!(
        before["dialog_found"], false,
        "no dialog before the click: {seen}"
    );
    assert_eq!(
        after["dialog_found"], true,
        "the dialog after the click: {seen}"
    );
    assert_ne!(after["dialog_display"], "none", "{seen}");
    for state in [before, after] {
        assert_none_of(
            &SECRET_WORDS,
            "the replayed page",
            state["text"].as_str().unwrap_or("").as_bytes(),
        );
    }
}

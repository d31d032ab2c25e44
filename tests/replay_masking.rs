//! The collector masks DOM recordings whatever the client sent: a hand-built rrweb batch with
//! masking off (text nodes, attributes outside the allow-list, an input's value, a typed input
//! event, text mutations, added text, a console log, a URL's query) is posted; after upload and
//! processing, none of its personal strings is in any byte of the store or of the write-ahead
//! log, in the decoded replay lane, or in the read API's recording; the masks keep the texts'
//! lengths, and the CSS and layout attributes survive.

use std::sync::Arc;

use heatpipe_core::keys::parse_date;
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use serde_json::{Value, json};

mod common;

use common::replay::{assert_none_of, decoded_lane, files, start_server};

const SITE: &str = "shop";
const DATE: &str = "2026-11-20";
/// 2026-11-20 10:00:00 UTC.
const T0: i64 = 1_795_168_800_000;
const SESSION: &str = "masked-session";

const SENTENCE: &str = "Jane Doe lives at 12 Secret Street";
/// Everything personal the batch carries; none may be stored.
const SECRETS: [&str; 11] = [
    "Jane Doe",
    "Secret Street",
    "hunter2-password",
    "jane@example.com",
    "Personal title",
    "token=abc123",
    "mutated secret text",
    "typed-later",
    "attrsecret",
    "added secret sentence",
    "typed-string-xyz",
];
const CSS: &str = ".modal{display:none;color:#c00}";

fn element(id: u32, tag: &str, attributes: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "id": id, "tagName": tag, "attributes": attributes, "childNodes": children})
}

fn text(id: u32, content: &str) -> Value {
    json!({"type": 3, "id": id, "textContent": content})
}

/// One batch as an rrweb recorder with every masking option off would send it.
fn unmasked_batch() -> Value {
    let style = json!({"type": 2, "id": 4, "tagName": "style", "attributes": {},
        "childNodes": [{"type": 3, "id": 5, "textContent": CSS, "isStyle": true}]});
    let body = element(
        6,
        "body",
        json!({"class": "page"}),
        vec![
            element(
                7,
                "p",
                json!({"id": "who", "title": "Personal title", "data-email": "jane@example.com"}),
                vec![text(8, SENTENCE)],
            ),
            element(
                9,
                "input",
                json!({"type": "password", "value": "hunter2-password", "placeholder": "Jane Doe"}),
                vec![],
            ),
            element(
                10,
                "a",
                json!({"href": "https://shop.example/account?token=abc123#top", "class": "link"}),
                vec![text(11, "Secret Street")],
            ),
            element(
                12,
                "div",
                json!({"class": "modal", "style": "display:none"}),
                vec![],
            ),
        ],
    );
    let html = element(
        2,
        "html",
        json!({}),
        vec![element(3, "head", json!({}), vec![style]), body],
    );
    json!([
        {"type": 4, "data": {"href": "https://shop.example/account?token=abc123", "width": 1280, "height": 800}, "timestamp": T0},
        {"type": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": T0 + 5},
        {"type": 3, "data": {"source": 2, "type": 2, "id": 12, "x": 100, "y": 200}, "timestamp": T0 + 1_000},
        {"type": 3, "data": {"source": 5, "id": 9, "text": "typed-string-xyz", "isChecked": false}, "timestamp": T0 + 1_500},
        {"type": 3, "data": {"source": 0,
            "texts": [{"id": 8, "value": "mutated secret text"}],
            "attributes": [{"id": 12, "attributes": {"style": "display:block", "value": "typed-later", "data-x": "attrsecret"}}],
            "removes": [],
            "adds": [{"parentId": 12, "nextId": null, "node": text(13, "added secret sentence")}]}, "timestamp": T0 + 2_000},
        {"type": 3, "data": {"source": 11, "level": "log", "payload": ["Jane Doe"], "trace": []}, "timestamp": T0 + 2_500},
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmasked_batch_leaves_nothing_personal_in_the_store_or_the_read_api() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (store_dir, wal_dir) = (folder.path().join("store"), folder.path().join("wal"));
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(&store_dir).expect("store"));
    let server = start_server(store.clone(), &wal_dir).await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/rrweb/{SITE}/{SESSION}", server.url()))
        .header("content-type", "application/json")
        .body(unmasked_batch().to_string())
        .send()
        .await
        .expect("collector answers");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        answer["streams"], 2,
        "pointer and DOM parts logged: {answer}"
    );
    assert!(
        answer["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("2 events not kept")),
        "the input and log events are refused: {answer}"
    );
    // The log as it stands before the upload holds nothing personal either.
    for (path, bytes) in files(&wal_dir) {
        assert_none_of(&SECRETS, &path, &bytes);
    }
    server.shutdown().await;
    process_day(
        store.clone(),
        &ProcessOptions::new(SITE, parse_date(DATE).expect("date")),
    )
    .await
    .expect("process");

    let stored = files(&store_dir);
    assert!(
        stored.iter().any(|(path, _)| path.ends_with("index.hpi")),
        "indexed"
    );
    for (path, bytes) in stored.iter().chain(files(&wal_dir).iter()) {
        assert_none_of(&SECRETS, path, bytes);
    }
    let decoded = decoded_lane(store.as_ref(), &format!("replay/{SITE}/{DATE}/")).await;
    assert_none_of(&SECRETS, "the decoded replay lane", decoded.as_bytes());
    assert_eq!(
        decoded.lines().count(),
        4,
        "meta, snapshot, click, mutation:\n{decoded}"
    );
    // Same-length masks, CSS and layout attributes kept, the URL reduced to its path.
    assert!(decoded.contains(&SENTENCE.replace(|c: char| !c.is_whitespace(), "*")));
    assert!(decoded.contains(CSS), "{decoded}");
    assert!(decoded.contains(r#""class":"modal""#) && decoded.contains(r#""id":"who""#));
    assert!(
        decoded.contains("https://shop.example/account\""),
        "{decoded}"
    );
    assert!(
        decoded.contains("display:block"),
        "the modal's style change is kept"
    );

    let reader = start_server(store.clone(), &folder.path().join("wal-read")).await;
    let recording = reqwest::get(format!(
        "{}/api/sites/{SITE}/sessions/{SESSION}/recording?date={DATE}",
        reader.url()
    ))
    .await
    .expect("recording answers");
    assert_eq!(recording.status(), 200);
    let body = recording.bytes().await.expect("body");
    assert_none_of(&SECRETS, "the recording answer", &body);
    let recording: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(recording["events"].as_array().map(Vec::len), Some(4));
    reader.shutdown().await;
}

//! t.js's DOM replay in real headless Chromium (`tests/browser/replay_tracker.mjs`): a collector
//! with three sites (`shop` leaves replay to the tag, `quiet` has `replay = "off"`, `always` has
//! `replay = "dom"` with a public selector and an opted-in image) and a test page on another
//! origin, with text, a form, a modal and two images. With `data-replay="dom"` the page fetches
//! `/t-replay.js` and posts rrweb batches for t.js's session holding a full snapshot and the
//! page-view event, every text masked to its length and no input event, which the collector
//! accepts with nothing refused; none of the page's sentences nor the typed string is in any
//! request body. Without the attribute, or with the site off, the
//! page loads nothing more; a site set to `dom` records without the attribute; a tag that waits
//! for consent loads the recorder only once it is given.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_io::store::{LocalStore, ObjectStore};

use heatpipe_collector::admission::{ReplayMode, SiteConfig};
use serde_json::Value;
use tokio::sync::oneshot;
use warp::http::HeaderValue;
use warp::{Filter, Reply};

mod common;

/// What the visitor types into the form.
const TYPED: &str = "zanzibar quokka 7781";
/// Text the site made public (`.public`) on `always` only.
const PUBLIC: &str = "Opening hours and contact";
/// The page's private text: the first five in text nodes and shown attributes (recorded masked
/// character for character), then the logo's `alt` (dropped with the blocked image), the
/// textarea's text (masked as an input) and the modal's (in a script; shown on a click).
const SENTENCES: [&str; 8] = [
    "Quarterly walrus ledger",
    "The walrus ledger reconciles every Tuesday at noon.",
    "Your full legal name",
    "Ingrid Halvorsen, Reykjavik",
    "Opens the parcel dialog",
    "Portrait of Ingrid Halvorsen",
    "Deliver to the blue door behind the bakery.",
    "Your parcel to Reykjavik is delayed by three days.",
];
/// Words of the private text and the typed string that no request body may hold.
const SECRET_WORDS: [&str; 8] = [
    "walrus",
    "Tuesday",
    "Halvorsen",
    "Reykjavik",
    "parcel",
    "bakery",
    "zanzibar",
    "quokka",
];

/// The test page, its tag with `data-replay="dom"` for `dom`, and with `data-consent="required"`
/// too for `consent`.
fn page_html(collector: &str, site: &str, attribute: &str) -> String {
    let [
        title,
        intro,
        label,
        placeholder,
        button_title,
        alt,
        note,
        modal,
    ] = SENTENCES;
    let replay = match attribute {
        "dom" => r#" data-replay="dom""#,
        "consent" => r#" data-replay="dom" data-consent="required""#,
        _ => "",
    };
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>#modal{{display:none;position:fixed;top:120px;left:340px;width:600px;padding:24px;background:#fff;border:1px solid #333}}#modal.open{{display:block}}</style>
<script src="{collector}/t.js" data-site="{site}"{replay} async></script>
</head><body>
<h2 class="public">{PUBLIC}</h2>
<p id="intro">{intro}</p>
<img class="logo" src="/logo.png" width="40" height="30" alt="{alt}">
<img class="product" src="/product.png" width="50" height="20">
<form><label for="name">{label}</label>
<input id="name" name="name" placeholder="{placeholder}" autocomplete="off">
<textarea id="note">{note}</textarea>
<button type="button" id="open-modal" title="{button_title}">Open</button></form>
<div id="modal" role="dialog"></div>
<script>document.getElementById('open-modal').addEventListener('click', function () {{
  var modal = document.getElementById('modal');
  modal.textContent = '{modal}';
  modal.className = 'open';
}});</script>
</body></html>"#
    )
}

/// A 1×1 PNG, so that the page's images load (a broken one is laid out as its `alt` text).
fn png() -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::RgbaImage::new(1, 1)
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("png");
    bytes.into_inner()
}

/// Serves the test page at `/page/{site}/{dom|none|consent}` and its images on 127.0.0.1 until the
/// sender is used or dropped.
async fn page_server(collector: String) -> (String, oneshot::Sender<()>) {
    let pages = warp::path!("page" / String / String).and(warp::get()).map(
        move |site: String, attribute: String| {
            warp::reply::html(page_html(&collector, &site, &attribute)).into_response()
        },
    );
    let image = png();
    let images = warp::path!(String)
        .and(warp::get())
        .and_then(move |name: String| {
            let image = image.clone();
            async move {
                if name != "logo.png" && name != "product.png" {
                    return Err(warp::reject::not_found());
                }
                let mut response = warp::reply::Response::new(image.into());
                response
                    .headers_mut()
                    .insert("content-type", HeaderValue::from_static("image/png"));
                Ok(response)
            }
        });
    let pages = pages.or(images).unify();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = warp::serve(pages).incoming(listener).graceful(async {
        let _ = stopped.await;
    });
    tokio::spawn(server.run());
    (format!("http://{address}"), stop)
}

fn site(id: &str, replay: Option<ReplayMode>) -> SiteConfig {
    SiteConfig {
        replay,
        ..SiteConfig::parse_flag(id).expect("site")
    }
}

fn mask(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect()
}

/// The requests of one case whose path starts with `prefix`.
fn requests<'a>(case: &'a Value, prefix: &str) -> Vec<&'a Value> {
    case["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["url"].as_str().is_some_and(|u| u.starts_with(prefix)))
        .collect()
}

/// Every string anywhere in `value`.
fn strings(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            into.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, into)),
        Value::Object(map) => map.values().for_each(|v| strings(v, into)),
        _ => {}
    }
}

/// The attributes of the serialized element whose class is `class`.
fn element_attributes<'a>(node: &'a Value, class: &str) -> Option<&'a Value> {
    if node["attributes"]["class"] == class {
        return Some(&node["attributes"]);
    }
    node["childNodes"]
        .as_array()?
        .iter()
        .find_map(|child| element_attributes(child, class))
}

/// Checks that t.js sent its own batches, for the tab's session.
fn check_collect(name: &str, case: &Value) {
    let sid = case["sid"].as_str().expect("sid");
    let batches = requests(case, "/v1/collect");
    for batch in &batches {
        let body: Value =
            serde_json::from_str(batch["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["session"], sid, "{name}: t.js's session");
    }
    assert!(!batches.is_empty(), "{name}: t.js sent its pointer batches");
}

/// Checks that the page fetched `/t-replay.js` once, with t.js's cache and CORS headers.
fn check_replay_script(name: &str, case: &Value) {
    let scripts = requests(case, "/t-replay.js");
    assert_eq!(scripts.len(), 1, "{name}: the recorder is fetched once");
    assert_eq!(scripts[0]["status"], 200);
    let headers = &scripts[0]["headers"];
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(
        headers["content-type"],
        "application/javascript; charset=utf-8"
    );
}

/// Checks the replay batches of a case (t.js's session, `pointers=0`, accepted with nothing
/// refused, the last by beacon) and returns their events, in the order sent.
fn replay_events(name: &str, site: &str, case: &Value) -> Vec<Value> {
    let sid = case["sid"].as_str().expect("sid");
    let batches = requests(case, "/v1/rrweb/");
    assert!(!batches.is_empty(), "{name}: replay batches were sent");
    let mut events = Vec::new();
    for batch in &batches {
        assert_eq!(batch["method"], "POST");
        assert_eq!(
            batch["url"].as_str(),
            Some(format!("/v1/rrweb/{site}/{sid}?pointers=0").as_str()),
            "{name}: t.js's session, pointers left to t.js"
        );
        if !batch["status"].is_null() {
            assert_eq!(batch["status"], 200, "{name}: {batch}");
            let answer: Value =
                serde_json::from_str(batch["answer"].as_str().expect("answer")).expect("json");
            assert_eq!(answer["ok"], true, "{name}: {answer}");
            assert_eq!(answer["streams"], 1, "{name}: the DOM events were logged");
            assert!(
                answer.get("warnings").is_none(),
                "{name}: nothing refused: {answer}"
            );
        }
        let body: Vec<Value> =
            serde_json::from_str(batch["body"].as_str().expect("body")).expect("rrweb events");
        events.extend(body);
    }
    assert!(
        batches.iter().any(|b| b["status"] == 200),
        "{name}: the collector accepted the batches"
    );
    assert!(
        batches.iter().any(|b| b["type"] == "ping"),
        "{name}: the last events left with sendBeacon"
    );
    events
}

/// Checks a case that records replay; returns its rrweb events, in the order sent.
fn check_recorded(name: &str, site: &str, case: &Value) -> Vec<Value> {
    check_collect(name, case);
    assert_eq!(case["replaying"], true, "{name}");
    check_replay_script(name, case);
    let events = replay_events(name, site, case);
    let of_type = |t: u64| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(of_type(4), 1, "{name}: one Meta event");
    assert_eq!(of_type(2), 1, "{name}: one full snapshot");
    let tags: Vec<&Value> = events.iter().filter(|e| e["type"] == 5).collect();
    assert_eq!(tags.len(), 1, "{name}: one custom event");
    assert_eq!(tags[0]["data"]["tag"], "heatpipe/page-view");
    assert_eq!(
        tags[0]["data"]["payload"],
        serde_json::json!({"page_view": 0})
    );
    for batch in requests(case, "/v1/collect") {
        let body: Value =
            serde_json::from_str(batch["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["page_view"], 0, "{name}: the page view t.js counts");
    }
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == 3 && e["data"]["source"] == 5),
        "{name}: no input event is sent (the collector never stores them)"
    );
    events
}

/// Starts a collector whose sites are `shop` (the tag decides), `quiet` (`replay = "off"`) and
/// `always` (`replay = "dom"`, `.public` text shown, `img.product` recorded).
async fn start_collector(folder: &Path) -> ServerHandle {
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.join("store")).expect("store"));
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.join("wal"));
    config.collector.rate_limit_per_s = 0;
    config.collector.sites = vec![
        site("shop", None),
        site("quiet", Some(ReplayMode::Off)),
        SiteConfig {
            replay_public: vec![".public".into()],
            replay_media: vec!["img.product".into()],
            ..site("always", Some(ReplayMode::Dom))
        },
    ];
    ServerHandle::start(store, config, ServeOptions::default())
        .await
        .expect("collector")
}

/// Checks that no body the page posted holds a word of its private text or of the typing.
fn check_nothing_in_clear(name: &str, case: &Value) {
    for request in case["requests"].as_array().expect("requests") {
        if request["method"] != "POST" {
            continue;
        }
        let body = request["body"]
            .as_str()
            .expect("every POST body was captured");
        for word in SECRET_WORDS {
            assert!(
                !body.contains(word),
                "{name}: {word:?} sent to {}",
                request["url"]
            );
        }
    }
}

/// Checks a case that must not record replay: t.js ran, and nothing more was loaded or sent.
fn check_not_recorded(name: &str, case: &Value) {
    check_collect(name, case);
    assert_eq!(case["replaying"], false, "{name}");
    assert!(
        requests(case, "/t-replay.js").is_empty(),
        "{name}: no recorder"
    );
    assert!(requests(case, "/v1/rrweb/").is_empty(), "{name}: no replay");
}

/// Checks `shop`'s recording, with the default settings: all text masked, all media blocked.
fn check_masked(events: &[Value]) {
    let snapshot = &events.iter().find(|e| e["type"] == 2).expect("snapshot")["data"]["node"];
    let mut sent = BTreeSet::new();
    events.iter().for_each(|e| strings(e, &mut sent));
    for sentence in SENTENCES.iter().take(5).chain(std::iter::once(&PUBLIC)) {
        assert!(
            sent.contains(&mask(sentence)),
            "{sentence:?} recorded masked"
        );
    }
    let note = "*".repeat(SENTENCES[6].len());
    assert!(
        sent.contains(&note),
        "the textarea's value, masked as an input"
    );
    let modal = mask(SENTENCES[7]);
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == 3 && e["data"]["source"] == 0)
            .any(|e| e.to_string().contains(&modal)),
        "the modal's text arrives masked in a mutation"
    );
    for (class, width, height) in [("logo", "40px", "30px"), ("product", "50px", "20px")] {
        let image = element_attributes(snapshot, class).expect("image");
        assert!(image.get("src").is_none(), "{class}: {image}");
        assert_eq!(
            (&image["rr_width"], &image["rr_height"]),
            (&width.into(), &height.into()),
            "{class}: a placeholder of the image's size"
        );
    }
}

/// Checks `always`'s recording: its public text shown, its opted-in image recorded.
fn check_opted_in(events: &[Value], pages: &str) {
    let snapshot = &events.iter().find(|e| e["type"] == 2).expect("snapshot")["data"]["node"];
    let mut sent = BTreeSet::new();
    events.iter().for_each(|e| strings(e, &mut sent));
    assert!(sent.contains(PUBLIC), "the site's public text is shown");
    assert!(
        sent.contains(&mask(SENTENCES[1])),
        "other text stays masked"
    );
    let product = element_attributes(snapshot, "product").expect("product image");
    assert_eq!(product["src"], format!("{pages}/product.png"));
    let logo = element_attributes(snapshot, "logo").expect("logo");
    assert!(logo.get("src").is_none(), "not opted in: {logo}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_recorder_loads_where_asked_and_sends_only_masked_dom() {
    let folder = tempfile::tempdir().expect("tempdir");
    let server = start_collector(folder.path()).await;
    let (pages, stop_pages) = page_server(server.url()).await;
    let cases = [
        "shop:dom",
        "shop:none",
        "quiet:dom",
        "always:none",
        "shop:consent",
    ];
    let mut args = vec![server.url(), pages.clone(), TYPED.to_owned()];
    args.extend(cases.iter().map(|c| (*c).to_owned()));
    let done = common::run_script("replay_tracker.mjs", args).await;
    let _ = stop_pages.send(());
    server.shutdown().await;

    for name in cases {
        check_nothing_in_clear(name, &done[name]);
    }
    check_not_recorded("shop:none", &done["shop:none"]);
    check_not_recorded("quiet:dom", &done["quiet:dom"]);
    check_masked(&check_recorded("shop:dom", "shop", &done["shop:dom"]));
    let always = check_recorded("always:none", "always", &done["always:none"]);
    check_opted_in(&always, &pages);
    let waiting = &done["shop:consent"];
    assert_eq!(
        waiting["beforeConsent"],
        serde_json::json!(["/t.js"]),
        "before consent: no recorder, nothing sent"
    );
    check_recorded("shop:consent", "shop", waiting);
}

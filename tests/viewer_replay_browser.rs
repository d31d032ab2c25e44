//! The viewer's DOM replay in real headless Chromium (playwright-core,
//! `tests/browser/viewer_replay.mjs`) against a read side with an API token: a session stored
//! with pointer streams and a hand-built rrweb recording (a page whose `#modal` is shown by a
//! mutation 2 s in) is replayed by rrweb's replayer in a frame sandboxed without scripts, at
//! the visitor's viewport scaled to fit, following the timeline's clock through seeks on either
//! side of the mutation, a viewport resize, a click on the timeline bar and 4× speed; its share
//! link replays the same recording through `/share/`; a session whose recording lost a block
//! still plays and says so; a session without a recording falls back to the live page and says
//! so. Screenshots in `target/browser-screenshots/`.

mod common;

use bytes::Bytes;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, replay_segment_key};
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::lane::{SessionEvents, encode_lane};
use heatpipe_fixtures::{SessionBuilder, write_chunks};
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::process_day;
use heatpipe_renderer::auth::{Scope, create_token};
use serde_json::{Value, json};

const META: u8 = 4;
const FULL_SNAPSHOT: u8 = 2;
const INCREMENTAL: u8 = 3;
/// The recording starts this long after the session's first page view (clock skew, a late
/// recorder): the player has to map the timeline's times onto the recording's.
const RECORDING_LAG_MS: i64 = 300;

/// A page with a heading, a button (node 8) and a hidden `#modal` (node 10), as rrweb
/// serialises it.
fn page_snapshot() -> Value {
    let element = |id: u32, tag: &str, attributes: Value, children: Vec<Value>| json!({"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id});
    let text = |id: u32, content: &str| json!({"type": 3, "textContent": content, "id": id});
    let body = element(
        5,
        "body",
        json!({}),
        vec![
            element(6, "h1", json!({}), vec![text(7, "Recorded shop")]),
            element(8, "button", json!({"id": "open"}), vec![text(9, "Open")]),
            element(
                10,
                "div",
                json!({"id": "modal", "style": "display:none"}),
                vec![text(11, "Hello from the modal")],
            ),
        ],
    );
    let html = element(
        3,
        "html",
        json!({}),
        vec![element(4, "head", json!({}), vec![]), body],
    );
    json!({"type": 0, "id": 1, "childNodes": [
        {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
        html,
    ]})
}

fn event(at_ms: i64, kind: u8, data: Value) -> ReplayEvent {
    ReplayEvent {
        at_ms,
        kind,
        json: json!({"type": kind, "data": data, "timestamp": at_ms}).to_string(),
    }
}

fn mouse_move(at_ms: i64, x: i32, y: i32) -> ReplayEvent {
    let positions = json!([{"x": x, "y": y, "id": 5, "timeOffset": 0}]);
    event(
        at_ms,
        INCREMENTAL,
        json!({"source": 1, "positions": positions}),
    )
}

/// Meta and full snapshot `RECORDING_LAG_MS` after `start`, a mouse move at +1 s, the
/// mutation showing the modal at +2 s; with `rest`, a click at +5 s, moves, a viewport resize
/// to 800 × 600 at +10 s and a last move at +20 s.
fn recording(url: &str, start: i64, rest: bool) -> (Vec<ReplayEvent>, Vec<ReplayEvent>) {
    let head = vec![
        event(
            start + RECORDING_LAG_MS,
            META,
            json!({"href": url, "width": 1024, "height": 640}),
        ),
        event(
            start + RECORDING_LAG_MS,
            FULL_SNAPSHOT,
            json!({"node": page_snapshot(), "initialOffset": {"left": 0, "top": 0}}),
        ),
        mouse_move(start + 1_000, 100, 100),
    ];
    let show_modal = json!({"source": 0, "texts": [], "removes": [], "adds": [],
        "attributes": [{"id": 10, "attributes": {"style": "display: block"}}]});
    let mut tail = vec![event(start + 2_000, INCREMENTAL, show_modal)];
    if rest {
        tail.extend([
            event(
                start + 5_000,
                INCREMENTAL,
                json!({"source": 2, "type": 2, "id": 8, "x": 200, "y": 150}),
            ),
            mouse_move(start + 6_000, 300, 200),
            mouse_move(start + 9_000, 400, 300),
            event(
                start + 10_000,
                INCREMENTAL,
                json!({"source": 4, "width": 800, "height": 600}),
            ),
            mouse_move(start + 20_000, 500, 300),
        ]);
    }
    (head, tail)
}

/// Moves every 500 ms to 11.5 s, clicks at 5 s and 8 s, then 5.5 idle seconds and moves to 20 s.
fn pointer_streams(id: &str, url: &str, start: i64) -> Vec<Stream> {
    let mut moves: Vec<(u32, i32, i32)> =
        (0..=23).map(|i| (i * 500, 100 + i as i32, 100)).collect();
    moves.extend((0..=6).map(|i| (17_000 + i * 500, 400, 300 + i as i32)));
    SessionBuilder::new(id, url, start)
        .viewport(1024, 640)
        .moves(&moves)
        .click(5_000, 200, 150, "#open")
        .click(8_000, 220, 150, "#open")
        .build()
}

/// Stores one segment object holding one session's events; returns its key.
async fn put_segment(
    store: &dyn ObjectStore,
    today: chrono::NaiveDate,
    segment: u64,
    session_id: &str,
    events: Vec<ReplayEvent>,
) -> String {
    let key = replay_segment_key("demo", today, "c1", segment);
    let session = SessionEvents {
        session_id: session_id.into(),
        events,
    };
    let bytes = encode_lane(vec![session], vec![], 3).expect("encode");
    store.put(&key, Bytes::from(bytes)).await.expect("put");
    key
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("a number: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_replays_a_dom_recording_in_a_scriptless_frame_and_falls_back_to_the_live_page() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (server, store, config) = common::demo_server(folder.path()).await;
    let origin = server.url();
    let url = format!("{origin}/demo/");
    let today = chrono::Utc::now().date_naive();
    let start = date_start_ms(today) + 60_000;
    let (damaged_start, live_start) = (start + 60_000, start + 120_000);

    let mut streams = pointer_streams("dom-1", &url, start);
    streams.extend(pointer_streams("dom-damaged", &url, damaged_start));
    streams.extend(pointer_streams("live-1", &url, live_start));
    write_chunks(store.as_ref(), "demo", "synthetic", &streams, 10)
        .await
        .expect("chunks");
    let (head, tail) = recording(&url, start, true);
    put_segment(store.as_ref(), today, 1, "dom-1", head).await;
    put_segment(store.as_ref(), today, 2, "dom-1", tail).await;
    // dom-damaged: its second block is damaged past its header.
    let (head, tail) = recording(&url, damaged_start, false);
    put_segment(store.as_ref(), today, 3, "dom-damaged", head).await;
    let damaged_key = put_segment(store.as_ref(), today, 4, "dom-damaged", tail).await;
    let mut bytes = store.get(&damaged_key).await.expect("get").to_vec();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x55;
    store
        .put(&damaged_key, Bytes::from(bytes))
        .await
        .expect("put");
    let summary = process_day(store.clone(), &config.processor.options("demo", today))
        .await
        .expect("process");
    assert_eq!(summary.recorded_sessions, 2, "{summary:?}");

    let (_, token) = create_token(&store, "viewer", Scope::Read, chrono::Utc::now())
        .await
        .expect("token");
    // The read side closes at its next reload of the token list.
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    while client
        .get(format!("{origin}/api/sites/demo/pages"))
        .send()
        .await
        .expect("get")
        .status()
        != 401
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let api = |session: &str| {
        client
            .get(format!(
                "{origin}/api/sites/demo/sessions/{session}/recording?date={today}"
            ))
            .bearer_auth(token.expose())
    };
    let damaged: Value = api("dom-damaged")
        .send()
        .await
        .expect("recording")
        .json()
        .await
        .expect("json");
    assert_eq!(damaged["blocks_skipped"], 1, "{damaged}");
    assert_eq!(damaged["num_events"], 3, "{damaged}");
    let none = api("live-1").send().await.expect("recording");
    assert_eq!(none.status(), 404);

    let shots = common::screenshot_folder();
    let done = common::run_script(
        "viewer_replay.mjs",
        vec![
            origin.clone(),
            shots.display().to_string(),
            token.expose().to_owned(),
        ],
    )
    .await;
    assert_eq!(done["page_errors"], json!([]), "no script errors: {done}");
    assert_eq!(done["listed"], json!(["dom-1", "dom-damaged", "live-1"]));

    // The DOM recording, in rrweb's own frame: sandboxed, scripts off, the live page not loaded.
    let dom = &done["dom"];
    let opened = &dom["opened"];
    assert_eq!(opened["mode"], "dom", "{opened}");
    assert_eq!(opened["label"], "DOM recording", "{opened}");
    assert_eq!(opened["iframes"], 1, "{opened}");
    let sandbox = opened["sandbox"].as_str().expect("a sandbox attribute");
    assert!(!sandbox.contains("allow-scripts"), "{sandbox}");
    assert_eq!(sandbox, "allow-same-origin");
    assert_eq!(opened["page_frame_hidden"], true, "{opened}");
    assert_eq!(opened["heading"], "Recorded shop", "{opened}");
    // At the visitor's viewport (Meta: 1024 × 640), scaled down to fit the player area.
    assert_eq!(
        (&opened["frame_width"], &opened["frame_height"]),
        (&json!(1024), &json!(640))
    );
    let scale = number(&opened["scale"]);
    assert!(scale > 0.3 && scale < 1.0, "{opened}");
    assert!(
        (number(&opened["shown_width"]) - 1024.0 * scale).abs() <= 2.0,
        "{opened}"
    );
    assert!(number(&opened["shown_width"]) <= number(&opened["area_width"]));

    // The modal appears with the mutation 2 s into the session (1.7 s into the recording).
    for (at, display) in [
        ("at_1000", "none"),
        ("at_1800", "none"),
        ("at_2200", "block"),
        ("at_3000", "block"),
        ("back_at_1000", "none"),
    ] {
        assert_eq!(dom[at]["modal_found"], true, "{at}: {}", dom[at]);
        assert_eq!(dom[at]["modal_display"], display, "{at}: {}", dom[at]);
    }
    let lag = RECORDING_LAG_MS as f64;
    assert!(
        (number(&dom["at_3000"]["replayer_time"]) - (3_000.0 - lag)).abs() < 150.0,
        "{}",
        dom["at_3000"]
    );
    // The ViewportResize at +10 s: 800 × 600 from then on.
    let resized = &dom["at_11000"];
    assert_eq!(
        (&resized["frame_width"], &resized["frame_height"]),
        (&json!(800), &json!(600)),
        "{resized}"
    );

    // The timeline bar: the idle stretch hatched, a tick per marker (the two clicks, dead: the
    // page showed no reaction), the dead clicks listed.
    assert_eq!(opened["inactivity"], 1, "{opened}");
    assert_eq!(opened["bar_spans"], 1, "{opened}");
    let kinds = json!([
        "click@5000",
        "dead_click@5000",
        "click@8000",
        "dead_click@8000"
    ]);
    assert_eq!(opened["marker_kinds"], kinds, "{opened}");
    assert_eq!(opened["bar_ticks"], 4, "{opened}");
    assert_eq!(opened["marker_items"], 2, "{opened}");
    // Jumping to the first listed marker: 1 s before it, in the clock and in the replayer.
    let jump = &dom["marker_jump"];
    assert_eq!(number(&jump["t"]), 4_000.0, "{jump}");
    assert!(
        (number(&jump["replayer_time"]) - (4_000.0 - lag)).abs() < 150.0,
        "{jump}"
    );

    // 4×: the clock and the replayer both run about four times as fast as the wall clock.
    let speed = &dom["speed"];
    assert_eq!(speed["config_speed"], 4, "{speed}");
    assert_eq!(speed["playing"], true, "{speed}");
    let wall = number(&speed["wall_ms"]);
    for what in ["clock_ms", "replayer_ms"] {
        let rate = number(&speed[what]) / wall;
        println!("4×: {what} advanced {rate:.2}× the wall clock over {wall:.0} ms");
        assert!((2.5..=5.5).contains(&rate), "{what}: {rate}× ({speed})");
    }

    // Played from inside the idle stretch, both jump to 0.4 s before its end (16.6 s), and
    // play on from there for 150 ms at 4×.
    let skip = &dom["skip"];
    assert_eq!(skip["skip_checked"], true, "{skip}");
    let skipped_to = number(&skip["t"]);
    assert!((16_600.0..17_600.0).contains(&skipped_to), "{skip}");
    assert!(
        (number(&skip["replayer_time"]) - (skipped_to - lag)).abs() < 250.0,
        "{skip}"
    );

    // A click at 75 % of the bar seeks the clock there and the replayer to the same moment.
    let bar = &dom["bar_click"];
    let (t, duration) = (number(&bar["t"]), number(&bar["duration"]));
    assert_eq!(duration, 20_000.0, "{bar}");
    assert!((t - 0.75 * duration).abs() < 0.02 * duration, "{bar}");
    assert_eq!(number(&bar["base"]), -lag, "{bar}");
    assert!(
        (number(&bar["replayer_time"]) - (t - lag)).abs() < 150.0,
        "{bar}"
    );

    println!(
        "scale {scale}; replayer at 3 s: {} ms; skipped to {skipped_to} ms (replayer {} ms); bar click {t} ms (replayer {} ms); marker jump replayer {} ms",
        dom["at_3000"]["replayer_time"],
        skip["replayer_time"],
        bar["replayer_time"],
        jump["replayer_time"]
    );

    // The share link replays the recording from /share/, with no token.
    let shared = &done["shared"];
    assert_eq!(shared["mode"], "dom", "{shared}");
    assert_eq!(shared["modal_found"], true, "{shared}");
    assert_eq!(
        shared["recording_requests"],
        json!(["/share/demo/session/recording"]),
        "{shared}"
    );

    // A recording that lost a block still plays, and says so.
    let damaged = &done["damaged"];
    assert_eq!(damaged["mode"], "dom", "{damaged}");
    assert_eq!(damaged["iframes"], 1, "{damaged}");
    assert!(
        damaged["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("DOM recording")
                && l.contains("part of this recording was damaged")),
        "{damaged}"
    );

    // No recording: the live page in the viewer's frame, said so, and no replayer.
    let live = &done["live"];
    assert_eq!(live["mode"], "live", "{live}");
    assert_eq!(
        live["label"], "Live page: no DOM recording of this session",
        "{live}"
    );
    assert_eq!(live["stage_hidden"], true, "{live}");
    assert_eq!(live["iframes"], 0, "{live}");
    assert_eq!(live["page_frame_hidden"], false, "{live}");
    assert_eq!(live["page_frame_src"], url.as_str(), "{live}");
    assert_eq!(live["marker_kinds"], kinds, "{live}");
    server.shutdown().await;
}

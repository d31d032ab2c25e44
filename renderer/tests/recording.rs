//! DOM recordings through the read API: segment objects of two collectors indexed by the
//! processor, a session's blocks merged in time order, a damaged block left out while the rest
//! plays, compaction giving back the same recording, and the answer compressed on request.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::keys::{parse_date, replay_day_prefix, replay_segment_key};
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::lane::{SessionEvents, decode_header, encode_lane};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::Value;
use warp::Filter;

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";
/// 2026-11-21T10:00:00Z.
const START: i64 = 1_763_719_200_000;

type Api = warp::filters::BoxedFilter<(warp::reply::Response,)>;

fn event(at: i64, kind: u8, n: u32) -> ReplayEvent {
    let data = if kind == 4 {
        r#"{"href":"https://shop.example/","width":1280,"height":720}"#.to_owned()
    } else {
        format!(r#"{{"n":{n}}}"#)
    };
    ReplayEvent {
        at_ms: START + at,
        kind,
        json: format!(
            r#"{{"type":{kind},"data":{data},"timestamp":{}}}"#,
            START + at
        ),
    }
}

fn session(id: &str, events: Vec<ReplayEvent>) -> SessionEvents {
    SessionEvents {
        session_id: id.into(),
        events,
    }
}

/// Session `s1` in three segments of two collectors (out of order), `s2` in one.
async fn store_segments(store: &dyn ObjectStore) -> Vec<String> {
    let date = parse_date(DATE).expect("date");
    let objects = [
        (
            replay_segment_key(SITE, date, "c1", 1),
            vec![
                session("s1", vec![event(0, 4, 0), event(0, 2, 1), event(900, 3, 4)]),
                session("s2", vec![event(50, 4, 0), event(60, 2, 1)]),
            ],
        ),
        (
            replay_segment_key(SITE, date, "c2", 7),
            vec![session("s1", vec![event(400, 3, 2), event(500, 3, 3)])],
        ),
        (
            replay_segment_key(SITE, date, "c1", 2),
            vec![session("s1", vec![event(2_000, 3, 5)])],
        ),
    ];
    let mut keys = Vec::new();
    for (key, sessions) in objects {
        let bytes = encode_lane(sessions, vec![], 3).expect("encode");
        store.put(&key, Bytes::from(bytes)).await.expect("put");
        keys.push(key);
    }
    keys
}

async fn process(store: &Arc<dyn ObjectStore>, compact: bool) -> u64 {
    let mut options = ProcessOptions::new(SITE, parse_date(DATE).expect("date"));
    options.compact_replay = compact;
    let summary = process_day(store.clone(), &options).await.expect("process");
    summary.recorded_sessions
}

async fn get(api: &Api, path: &str, accept: &str) -> (u16, Vec<u8>, Option<String>) {
    let response = warp::test::request()
        .path(path)
        .header("accept-encoding", accept)
        .reply(api)
        .await;
    let encoding = response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        response.status().as_u16(),
        response.body().to_vec(),
        encoding,
    )
}

/// The `n` of each event but Meta events, in the order the recording gives them.
fn order(recording: &Value) -> Vec<i64> {
    recording["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] != 4)
        .map(|e| e["data"]["n"].as_i64().expect("n"))
        .collect()
}

fn api_of(store: &Arc<dyn ObjectStore>) -> Api {
    routes(Renderer::new(store.clone(), RendererConfig::default()).on_loopback()).boxed()
}

#[tokio::test]
async fn a_recording_split_across_collectors_plays_in_order_and_survives_compaction() {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let inputs = store_segments(store.as_ref()).await;
    assert_eq!(process(&store, false).await, 2);
    let api = api_of(&store);
    let path = format!("/api/sites/{SITE}/sessions/s1/recording?date={DATE}");
    let (status, body, encoding) = get(&api, &path, "identity").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(encoding, None);
    let before: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(order(&before), [1, 2, 3, 4, 5]);
    assert_eq!(before["num_events"], 6);
    assert_eq!(before["blocks_skipped"], 0);
    assert_eq!(before["page_views"][0]["url"], "https://shop.example/");
    assert_eq!(before["page_views"][0]["width_px"], 1280);

    // Compacted: one object, the inputs deleted, the same recording.
    assert_eq!(process(&store, true).await, 2);
    let listed = store
        .list(&replay_day_prefix(SITE, parse_date(DATE).expect("date")))
        .await
        .expect("list");
    let objects: Vec<&str> = listed
        .iter()
        .map(|m| m.key.as_str())
        .filter(|k| k.ends_with(".hpd"))
        .collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert!(objects[0].contains("/day-"));
    let compacted = store.get(objects[0]).await.expect("get");
    let mut consumed = decode_header(&compacted).expect("header").consumed;
    consumed.sort();
    let mut expected = inputs.clone();
    expected.sort();
    assert_eq!(consumed, expected);
    let api = api_of(&store);
    let (status, body, encoding) = get(&api, &path, "gzip, deflate").await;
    assert_eq!((status, encoding.as_deref()), (200, Some("gzip")));
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut json)
        .expect("gunzip");
    let after: Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(after["events"], before["events"]);
    // Processing the compacted day again changes nothing.
    assert_eq!(process(&store, true).await, 2);
    let again = store.get(objects[0]).await.expect("still there");
    assert_eq!(again, compacted);
}

#[tokio::test]
async fn a_damaged_replay_block_is_skipped_and_the_rest_of_the_session_plays() {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let inputs = store_segments(store.as_ref()).await;
    // Damage the block of c2's segment (s1's events 2 and 3), past its header.
    let damaged_key = &inputs[1];
    let mut bytes = store.get(damaged_key).await.expect("get").to_vec();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x55;
    store
        .put(damaged_key, Bytes::from(bytes))
        .await
        .expect("put");
    process(&store, false).await;
    let api = api_of(&store);
    let path = format!("/api/sites/{SITE}/sessions/s1/recording?date={DATE}");
    let (status, body, encoding) = get(&api, &path, "zstd").await;
    assert_eq!((status, encoding.as_deref()), (200, Some("zstd")));
    let recording: Value =
        serde_json::from_slice(&zstd::decode_all(&body[..]).expect("unzstd")).expect("json");
    assert_eq!(order(&recording), [1, 4, 5]);
    assert_eq!(recording["blocks_skipped"], 1);

    // An unknown session is a JSON 404; a bad date a 400.
    let (status, body, _) = get(
        &api,
        &format!("/api/sites/{SITE}/sessions/nobody/recording?date={DATE}"),
        "",
    )
    .await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_slice(&body).expect("json error");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nobody")),
        "{error}"
    );
    let (status, _, _) = get(
        &api,
        &format!("/api/sites/{SITE}/sessions/s1/recording?date=yesterday"),
        "",
    )
    .await;
    assert_eq!(status, 400);
}

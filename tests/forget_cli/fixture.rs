//! What the erasure tests share: a day of traffic, processed; the session and visitor they
//! erase; running the `heatpipe` binary; and reading back everything the store holds.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::chunk::decode_chunk;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, pages_key, parse_date, replay_segment_key};
use heatpipe_core::page::page_key;
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::compact::decode_object;
use heatpipe_core::replay::index::decode_index;
use heatpipe_core::replay::lane::{SessionEvents, decode_header, encode_lane};
use heatpipe_core::session::SessionIndex;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_sealed_chunks};
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::{ProcessorConfig, process_day};

pub const SITE: &str = "shop";
pub const DATE: &str = "2026-11-21";
pub const BUCKET: &str = "erasure";

/// The day's traffic: 30 sessions, sealed as a collector would every 20 s.
pub fn traffic() -> Vec<Stream> {
    let start = date_start_ms(parse_date(DATE).expect("date"));
    generate_traffic(&TrafficSpec {
        seed: 27,
        origin: "https://shop.example".into(),
        num_sessions: 30,
        window_ms: start..start + 2 * 3_600_000,
    })
}

/// A DOM recording of each session that has streams, as two collectors' log segments would
/// upload it: the Meta event in one object, a click in another.
pub async fn write_recordings(store: &dyn ObjectStore, streams: &[Stream]) {
    let date = parse_date(DATE).expect("date");
    let mut starts: BTreeMap<&str, i64> = BTreeMap::new();
    for stream in streams {
        let start = starts.entry(&stream.session_id).or_insert(i64::MAX);
        *start = (*start).min(stream.page.started_at_ms);
    }
    for (collector, kind) in [("c1", 4u8), ("c2", 3u8)] {
        let sessions = starts
            .iter()
            .map(|(session, start)| {
                let at_ms = start + i64::from(kind);
                let json = format!(r#"{{"type":{kind},"data":{{"href":"https://shop.example/","width":1280,"height":720,"source":2}},"timestamp":{at_ms}}}"#);
                SessionEvents {
                    session_id: (*session).to_owned(),
                    events: vec![ReplayEvent { at_ms, kind, json }],
                }
            })
            .collect();
        let bytes = encode_lane(sessions, vec![], 3).expect("encode");
        store
            .put(
                &replay_segment_key(SITE, date, collector, 1),
                Bytes::from(bytes),
            )
            .await
            .expect("put");
    }
}

/// Writes `streams` (and a DOM recording of each session) as a collector would and processes
/// the day.
pub async fn processed_day(store: &Arc<dyn ObjectStore>, mut streams: Vec<Stream>) {
    write_recordings(store.as_ref(), &streams).await;
    write_sealed_chunks(store.as_ref(), SITE, "c1", &mut streams, 20_000)
        .await
        .expect("chunks");
    let options = ProcessorConfig::default().options(SITE, parse_date(DATE).expect("date"));
    process_day(store.clone(), &options).await.expect("process");
}

/// A session of the traffic with several batches spread over chunks, page views and clicks.
pub fn victim(streams: &[Stream]) -> String {
    let mut batches: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for stream in streams {
        let entry = batches.entry(&stream.session_id).or_default();
        entry.0 += 1;
        entry.1 += stream.clicks.len();
    }
    batches
        .into_iter()
        .filter(|(_, (num_batches, num_clicks))| *num_batches >= 3 && *num_clicks > 0)
        .map(|(id, _)| id.to_owned())
        .next()
        .expect("a session with batches and clicks")
}

pub async fn heatpipe(args: Vec<String>, envs: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .args(args)
            .envs(envs)
            .env("RUST_LOG", "error")
            .output()
            .expect("run heatpipe")
    })
    .await
    .expect("join")
}

pub fn forget_args(location: &str, session: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "forget",
        "--store",
        location,
        "--site",
        SITE,
        "--session",
        session,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Every object of `store` under `prefixes`, key and bytes, sorted by key.
pub async fn objects(store: &dyn ObjectStore, prefixes: &[&str]) -> Vec<(String, Bytes)> {
    let mut out = Vec::new();
    for prefix in prefixes {
        for meta in store.list(prefix).await.expect("list") {
            let bytes = store.get(&meta.key).await.expect("get");
            out.push((meta.key, bytes));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Decodes every chunk, session index, page index, page aggregate, replay object and replay
/// index of `store` and returns how many name `session` (by id, anywhere in what they decode
/// to), and how many were decoded.
pub async fn objects_naming(store: &dyn ObjectStore, session: &str) -> (usize, usize) {
    let mut naming = 0;
    let mut decoded = 0;
    for (key, bytes) in objects(store, &["raw/", "sessions/", "agg/", "replay/"]).await {
        let text = if key.ends_with(".hpd") {
            let header = decode_header(&bytes).expect("replay header");
            let sessions = decode_object(&bytes).expect("replay object");
            format!("{header:?} {sessions:?}")
        } else if key.ends_with(".hpi") {
            format!("{:?}", decode_index(&bytes).expect("replay index"))
        } else if key.ends_with(".hpc") {
            format!("{:?}", decode_chunk(&bytes).expect("chunk"))
        } else if key.ends_with("index.hps") {
            format!("{:?}", SessionIndex::decode(&bytes).expect("index"))
        } else if key.ends_with("pages.hpa") {
            format!("{:?}", PageIndex::decode(&bytes).expect("page index"))
        } else if key.ends_with(".hpa") {
            format!("{:?}", PageAgg::decode(&bytes).expect("page"))
        } else {
            panic!("unexpected object {key}");
        };
        decoded += 1;
        if text.contains(session) {
            naming += 1;
        }
    }
    (naming, decoded)
}

/// Views and clicks per page key in a page index.
pub async fn page_counts(store: &dyn ObjectStore) -> BTreeMap<String, (u64, u64)> {
    let bytes = store
        .get(&pages_key(SITE, parse_date(DATE).expect("date")))
        .await
        .expect("page index");
    PageIndex::decode(&bytes)
        .expect("decode")
        .pages
        .into_iter()
        .map(|page| (page.key, (page.views, page.clicks)))
        .collect()
}

/// The victim's page views and clicks per page key, from its streams.
pub fn victim_counts(streams: &[Stream], session: &str) -> BTreeMap<String, (u64, u64)> {
    let mut views: BTreeMap<String, std::collections::BTreeSet<u32>> = BTreeMap::new();
    let mut clicks: BTreeMap<String, u64> = BTreeMap::new();
    for stream in streams.iter().filter(|s| s.session_id == session) {
        let key = page_key(&stream.page.url);
        views
            .entry(key.clone())
            .or_default()
            .insert(stream.page_view_index);
        *clicks.entry(key).or_default() += stream.clicks.len() as u64;
    }
    views
        .into_iter()
        .map(|(key, indexes)| {
            let num_clicks = clicks.get(&key).copied().unwrap_or(0);
            (key, (indexes.len() as u64, num_clicks))
        })
        .collect()
}

/// The sessions of visitor `key` on a day's traffic: `session` carries it from its second batch
/// on (identified mid-session), so its first batch must go too.
pub fn identify(streams: &mut [Stream], session: &str, key: &str) {
    let mut seen = 0;
    for stream in streams.iter_mut().filter(|s| s.session_id == session) {
        if seen > 0 {
            stream.page.visitor_key = Some(key.to_owned());
        }
        seen += 1;
    }
    assert!(seen >= 3, "{session} has {seen} batches");
}

/// Sends `request` with `token` as its bearer token.
pub async fn send_as(request: reqwest::RequestBuilder, token: &str) -> reqwest::Response {
    request.bearer_auth(token).send().await.expect("send")
}

//! The session list and timelines over two processed days of generated traffic, answered the
//! same whether each day's index is decoded whole and cached or read one session at a time (a
//! day too large for the cache), and equal to a plain filter-and-sort of the decoded indexes.

use std::sync::Arc;

use bytes::Bytes;
use heatpipe_core::keys::{date_start_ms, parse_date, session_index_key};
use heatpipe_core::session::{SessionIndex, SessionSummary};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use heatpipe_renderer::{Renderer, RendererConfig, routes};
use serde_json::Value;

const SITE: &str = "shop";
const DAYS: [&str; 2] = ["2026-11-20", "2026-11-21"];

type Api = warp::filters::BoxedFilter<(warp::reply::Response,)>;

/// Two days of 150 generated sessions each, processed.
async fn processed_store() -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::default());
    for (seed, day) in DAYS.iter().enumerate() {
        let date = parse_date(day).expect("date");
        let start = date_start_ms(date);
        let streams = generate_traffic(&TrafficSpec {
            seed: seed as u64 + 11,
            origin: "https://shop.example".into(),
            num_sessions: 150,
            window_ms: start..start + 20 * 3_600_000,
        });
        write_chunks(store.as_ref(), SITE, &format!("c{seed}"), &streams, 40)
            .await
            .expect("chunks");
        process_day(store.clone(), &ProcessOptions::new(SITE, date))
            .await
            .expect("process");
    }
    store
}

fn api(store: &Arc<dyn ObjectStore>, session_index_cache_mib: u64) -> Api {
    use warp::Filter;
    let config = RendererConfig {
        session_index_cache_mib,
        ..RendererConfig::default()
    };
    routes(Renderer::new(store.clone(), config).on_loopback()).boxed()
}

async fn get(api: &Api, path: &str) -> (u16, Bytes) {
    let answer = warp::test::request().path(path).reply(api).await;
    (answer.status().as_u16(), answer.into_body())
}

/// Each day's decoded sessions, with their day.
async fn all_sessions(store: &Arc<dyn ObjectStore>) -> Vec<(String, SessionSummary)> {
    let mut sessions = Vec::new();
    for day in DAYS {
        let key = session_index_key(SITE, parse_date(day).expect("date"));
        let index = SessionIndex::decode(&store.get(&key).await.expect("index")).expect("decode");
        sessions.extend(index.sessions.into_iter().map(|s| (day.to_owned(), s)));
    }
    sessions
}

/// The list a plain filter, full sort and cut gives: (date, id) of each row.
fn reference(
    sessions: &[(String, SessionSummary)],
    keep: impl Fn(&SessionSummary) -> bool,
    limit: usize,
) -> Vec<(String, String)> {
    let mut rows: Vec<&(String, SessionSummary)> =
        sessions.iter().filter(|(_, s)| keep(s)).collect();
    rows.sort_by(|(a_day, a), (b_day, b)| {
        b.started_at_ms
            .cmp(&a.started_at_ms)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a_day.cmp(b_day))
    });
    rows.into_iter()
        .take(limit)
        .map(|(day, s)| (day.clone(), s.id.clone()))
        .collect()
}

fn listed(body: &[u8]) -> Vec<(String, String)> {
    let rows: Value = serde_json::from_slice(body).expect("json");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["date"].as_str().expect("date").to_owned(),
                r["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn lists_and_timelines_are_the_same_from_cached_and_streamed_indexes() {
    let store = processed_store().await;
    let sessions = all_sessions(&store).await;
    let (cached, streamed) = (api(&store, 256), api(&store, 0));
    let range = format!("/api/sites/{SITE}/sessions?from={}&to={}", DAYS[0], DAYS[1]);
    type Keep = Box<dyn Fn(&SessionSummary) -> bool>;
    let cases: Vec<(&str, usize, Keep)> = vec![
        ("&limit=40", 40, Box::new(|_| true)),
        ("&limit=1000", 1000, Box::new(|_| true)),
        (
            "&device=mobile&limit=25",
            25,
            Box::new(|s| s.device.as_str() == "mobile"),
        ),
        ("&frustration=any", 1000, Box::new(|s| s.frustration.any())),
        (
            "&tag=variant:B&min_duration=20&limit=30",
            30,
            Box::new(|s| {
                s.tags.contains(&("variant".into(), "B".into())) && s.duration_ms >= 20_000
            }),
        ),
    ];
    for (query, limit, keep) in cases {
        let path = format!("{range}{query}");
        let (status, from_cache) = get(&cached, &path).await;
        assert_eq!(status, 200, "{query}");
        let expected = reference(&sessions, keep, limit);
        assert!(!expected.is_empty(), "{query} must list something");
        assert_eq!(listed(&from_cache), expected, "{query}");
        assert_eq!(get(&streamed, &path).await, (200, from_cache), "{query}");
    }
    assert!(sessions.len() > 40, "the cut at 40 must drop sessions");

    for (day, session) in [&sessions[3], &sessions[sessions.len() - 2]] {
        let path = format!(
            "/api/sites/{SITE}/sessions/{}/timeline?date={day}",
            session.id
        );
        let (status, from_cache) = get(&cached, &path).await;
        assert_eq!(status, 200);
        let timeline: Value = serde_json::from_slice(&from_cache).expect("json");
        assert!(!timeline["events"].as_array().expect("events").is_empty());
        assert_eq!(get(&streamed, &path).await, (200, from_cache));
    }
    let missing = format!(
        "/api/sites/{SITE}/sessions/nobody/timeline?date={}",
        DAYS[1]
    );
    assert_eq!(get(&streamed, &missing).await.0, 404);
}

#[tokio::test]
async fn a_damaged_day_is_skipped_and_the_other_still_listed() {
    let store = processed_store().await;
    let sessions = all_sessions(&store).await;
    let key = session_index_key(SITE, parse_date(DAYS[1]).expect("date"));
    let mut damaged = store.get(&key).await.expect("index").to_vec();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    store.put(&key, Bytes::from(damaged)).await.expect("put");
    let expected = reference(
        &sessions
            .into_iter()
            .filter(|(day, _)| day == DAYS[0])
            .collect::<Vec<_>>(),
        |_| true,
        1000,
    );
    let path = format!("/api/sites/{SITE}/sessions?from={}&to={}", DAYS[0], DAYS[1]);
    for api in [api(&store, 256), api(&store, 0)] {
        let (status, body) = get(&api, &path).await;
        assert_eq!(status, 200);
        assert_eq!(listed(&body), expected);
    }
}

//! A processed day served by a real server, the read routes as the viewer calls them, and the
//! helpers that send requests and check refusals.

use std::sync::Arc;
use std::time::Duration;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::keys::{date_start_ms, replay_segment_key};
use heatpipe_core::page::page_key;
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::lane::{SessionEvents, encode_lane};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::process_day;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub(crate) const SITE: &str = "demo";
pub(crate) const ORIGIN: &str = "https://demo.example";

/// A processed day of seeded traffic in a local store, and a server over it (one listener,
/// tokens reloaded every 200 ms).
pub(crate) struct Fixture {
    pub(crate) _folder: tempfile::TempDir,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) server: ServerHandle,
    /// The demo page's key, a session of the day, and the day.
    pub(crate) page: String,
    pub(crate) session: String,
    pub(crate) date: String,
}

pub(crate) fn test_config(folder: &std::path::Path) -> Config {
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.join("wal"));
    config.renderer.token_refresh_ms = 200;
    config
}

pub(crate) async fn fixture(split: bool) -> Fixture {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.path().join("store")).expect("store"));
    let today = chrono::Utc::now().date_naive();
    let start = date_start_ms(today);
    let streams = generate_traffic(&TrafficSpec {
        seed: 11,
        origin: ORIGIN.into(),
        num_sessions: 30,
        window_ms: start..start + 3_600_000,
    });
    let session = streams[0].session_id.clone();
    write_chunks(store.as_ref(), SITE, "synthetic", &streams, 50)
        .await
        .expect("chunks");
    // A DOM recording of the session, so that its recording route answers.
    let recorded_at = streams[0].page.started_at_ms;
    let recording = SessionEvents {
        session_id: session.clone(),
        events: vec![ReplayEvent {
            at_ms: recorded_at,
            kind: 4,
            json: format!(
                r#"{{"type":4,"data":{{"href":"{ORIGIN}/demo/","width":1280,"height":720}},"timestamp":{recorded_at}}}"#
            ),
        }],
    };
    let bytes = encode_lane(vec![recording], vec![], 3).expect("recording");
    store
        .put(
            &replay_segment_key(SITE, today, "synthetic", 1),
            bytes.into(),
        )
        .await
        .expect("put");
    let config = test_config(folder.path());
    process_day(store.clone(), &config.processor.options(SITE, today))
        .await
        .expect("process");
    let server = if split {
        ServerHandle::start_with_read_listener(store.clone(), config, ServeOptions::default()).await
    } else {
        ServerHandle::start(store.clone(), config, ServeOptions::default()).await
    }
    .expect("server");
    Fixture {
        _folder: folder,
        store,
        server,
        page: page_key(&format!("{ORIGIN}/demo/")),
        session,
        date: today.to_string(),
    }
}

/// One request of the read API: method, path and query, JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<Value>,
    pub(crate) admin: bool,
}

/// Every read route of `renderer/src/routes`, as the viewer calls them.
pub(crate) fn read_routes(f: &Fixture) -> Vec<Call> {
    let get = |path: String| Call {
        method: Method::GET,
        path,
        body: None,
        admin: false,
    };
    let site = format!("/api/sites/{SITE}");
    vec![
        get(format!("{site}/pages")),
        get(format!("{site}/heatmap.png?page={}", f.page)),
        get(format!("{site}/heatmap.png?page={}&kind=scroll", f.page)),
        get(format!("{site}/elements?page={}&limit=15", f.page)),
        get(format!("{site}/scroll-depth?page={}", f.page)),
        get(format!("{site}/sessions?limit=200")),
        get(format!(
            "{site}/sessions/{}/timeline?date={}",
            f.session, f.date
        )),
        Call {
            method: Method::POST,
            path: format!("{site}/share"),
            body: Some(json!({"heatmap": {"page": f.page}, "expires_in_s": 600})),
            admin: false,
        },
        Call {
            method: Method::GET,
            path: "/api/tokens".into(),
            body: None,
            admin: true,
        },
        get(format!("{site}/dashboard")),
        get(format!("{site}/funnel?steps={},{}", f.page, f.page)),
        get(format!("{site}/paths?page={}", f.page)),
        get(format!(
            "{site}/sessions/{}/recording?date={}",
            f.session, f.date
        )),
    ]
}

pub(crate) async fn send(
    client: &Client,
    base: &str,
    call: &Call,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, bytes::Bytes) {
    let mut request = client.request(call.method.clone(), format!("{base}{}", call.path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    let response = request.send().await.expect("send");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.expect("body"))
}

/// Checks a JSON error: its status, in the body too, and a message containing `words`.
pub(crate) fn assert_json_error(
    status: StatusCode,
    body: &[u8],
    expected: u16,
    words: &str,
    what: &str,
) {
    assert_eq!(
        status.as_u16(),
        expected,
        "{what}: {}",
        String::from_utf8_lossy(body)
    );
    let body: Value = serde_json::from_slice(body).unwrap_or_else(|err| {
        panic!(
            "{what}: not JSON ({err}): {}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(body["error"]["status"], expected, "{what}: {body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(words),
        "{what}: {message:?} lacks {words:?}"
    );
}

pub(crate) async fn assert_refused(
    client: &Client,
    base: &str,
    call: &Call,
    token: Option<&str>,
    words: &str,
) {
    let what = format!(
        "{} {} with {:?}",
        call.method,
        call.path,
        token.map(|_| "a token")
    );
    let (status, headers, body) = send(client, base, call, token).await;
    assert_json_error(status, &body, 401, words, &what);
    let challenge = headers
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer"),
        "{what}: WWW-Authenticate {challenge:?}"
    );
}

/// Waits until the read side at `base`, open while no token existed, refuses a request without
/// one: it reads the token list every `token_refresh_ms`.
pub(crate) async fn wait_until_closed(client: &Client, base: &str) {
    let started = std::time::Instant::now();
    loop {
        let response = client
            .get(format!("{base}/api/sites/{SITE}/pages"))
            .send()
            .await
            .expect("get");
        if response.status() == 401 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the read side stayed open after a token was made"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

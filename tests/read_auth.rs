//! The read side as someone without the right token meets it, over HTTP on a real server: every
//! read route (and so every data call of the viewer) refuses a request with no token, a wrong
//! one or a revoked one (401 JSON with `WWW-Authenticate: Bearer`), a read token on an admin
//! route (403 JSON), and answers valid tokens; share links open one heatmap or one replay
//! without a token until they expire, and any change to one is refused; with a separate read
//! listener, neither listener answers the other's routes.

use std::sync::Arc;
use std::time::Duration;

use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::keys::date_start_ms;
use heatpipe_core::page::page_key;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::process_day;
use heatpipe_renderer::auth::{Scope, create_token, revoke_token};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const SITE: &str = "demo";
const ORIGIN: &str = "https://demo.example";

/// A processed day of seeded traffic in a local store, and a server over it (one listener,
/// tokens reloaded every 200 ms).
struct Fixture {
    _folder: tempfile::TempDir,
    store: Arc<dyn ObjectStore>,
    server: ServerHandle,
    /// The demo page's key, a session of the day, and the day.
    page: String,
    session: String,
    date: String,
}

fn test_config(folder: &std::path::Path) -> Config {
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = folder.join("wal");
    config.renderer.token_refresh_ms = 200;
    config
}

async fn fixture(split: bool) -> Fixture {
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
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    admin: bool,
}

/// Every read route of `renderer/src/routes`, as the viewer calls them.
fn read_routes(f: &Fixture) -> Vec<Call> {
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
    ]
}

async fn send(
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
fn assert_json_error(status: StatusCode, body: &[u8], expected: u16, words: &str, what: &str) {
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

async fn assert_refused(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_route_needs_a_valid_token_of_the_right_scope() {
    let f = fixture(false).await;
    let (client, base) = (Client::new(), f.server.read_url());
    let now = chrono::Utc::now();
    // With no token at all, the loopback read side is open (the demo).
    for call in read_routes(&f) {
        let (status, _, body) = send(&client, &base, &call, None).await;
        assert_eq!(status, 200, "{call:?}: {}", String::from_utf8_lossy(&body));
    }
    // The first token, made on "another host", closes the loopback read side within the
    // refresh time (200 ms here).
    let (_, admin) = create_token(&f.store, "ops", Scope::Admin, now)
        .await
        .expect("token");
    wait_until_closed(&client, &base).await;
    // Made while the server runs: they work at once (an unknown token reloads the list).
    let (_, read) = create_token(&f.store, "reader", Scope::Read, now)
        .await
        .expect("token");
    let (_, doomed) = create_token(&f.store, "doomed", Scope::Admin, now)
        .await
        .expect("token");
    for call in read_routes(&f) {
        let (status, headers, body) = send(&client, &base, &call, Some(read.expose())).await;
        if call.admin {
            assert_json_error(
                status,
                &body,
                403,
                "needs scope admin",
                &format!("{call:?} with a read token"),
            );
            assert!(headers.get("www-authenticate").is_none());
        } else {
            assert_eq!(status, 200, "{call:?}: {}", String::from_utf8_lossy(&body));
        }
        for token in [admin.expose(), doomed.expose()] {
            let (status, _, body) = send(&client, &base, &call, Some(token)).await;
            assert_eq!(
                status,
                200,
                "{call:?} as admin: {}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_refused(&client, &base, &call, None, "needs an API token").await;
        assert_refused(
            &client,
            &base,
            &call,
            Some("hp_not-a-token-anybody-made"),
            "not valid",
        )
        .await;
        let (status, headers, body) = client
            .request(call.method.clone(), format!("{base}{}", call.path))
            .header("authorization", format!("Basic {}", read.expose()))
            .send()
            .await
            .map(|r| (r.status(), r.headers().clone(), r))
            .expect("send");
        assert_json_error(
            status,
            &body.bytes().await.expect("body"),
            401,
            "Bearer TOKEN",
            "a Basic header",
        );
        assert!(headers.contains_key("www-authenticate"));
    }
    // Revoked on another host: refused within the refresh time (200 ms here).
    revoke_token(&f.store, "doomed").await.expect("revoke");
    tokio::time::sleep(Duration::from_millis(700)).await;
    for call in read_routes(&f) {
        assert_refused(&client, &base, &call, Some(doomed.expose()), "not valid").await;
    }
    // The admin route lists names and scopes, never a hash or a secret.
    let listed = send(&client, &base, &read_routes(&f)[8], Some(admin.expose()))
        .await
        .2;
    let text = String::from_utf8_lossy(&listed);
    let rows: Value = serde_json::from_slice(&listed).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert_eq!(rows[0]["name"], "ops");
    assert_eq!(rows[1]["scope"], "read");
    assert!(
        !text.contains(read.expose()) && !text.contains("sha256"),
        "{text}"
    );
    // The viewer's own files hold no data and need no token.
    for asset in [
        "/",
        "/viewer.js",
        "/player.js",
        "/analytics.js",
        "/viewer.css",
        "/assets/charts.js",
        "/assets/charts.css",
    ] {
        let response = client
            .get(format!("{base}{asset}"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{asset}");
    }
}

/// Waits until the read side at `base`, open while no token existed, refuses a request without
/// one: it reads the token list every `token_refresh_ms`.
async fn wait_until_closed(client: &Client, base: &str) {
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

/// Makes a share link with `token`; returns its path and query.
async fn share(client: &Client, base: &str, token: &str, body: Value) -> String {
    let response = client
        .post(format!("{base}/api/sites/{SITE}/share"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("share");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert!(answer["expires_at"].is_string(), "{answer}");
    answer["url"].as_str().expect("url").to_owned()
}

/// GETs `path` with no token; returns the status and body.
async fn open(client: &Client, base: &str, path: &str) -> (StatusCode, bytes::Bytes) {
    let response = client
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("get");
    (response.status(), response.bytes().await.expect("body"))
}

/// Replaces the value of query parameter `name` in `path` (or adds it).
fn with_param(path: &str, name: &str, value: &str) -> String {
    let (prefix, query) = path.split_once('?').expect("query");
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    match pairs.iter_mut().find(|(n, _)| n == name) {
        Some(pair) => pair.1 = value.to_owned(),
        None => pairs.push((name.to_owned(), value.to_owned())),
    }
    format!(
        "{prefix}?{}",
        serde_urlencoded::to_string(&pairs).expect("encode")
    )
}

fn param(path: &str, name: &str) -> String {
    let query = path.split_once('?').expect("query").1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    pairs.into_iter().find(|(n, _)| n == name).expect("param").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_open_one_view_until_they_expire_and_refuse_any_change() {
    let f = fixture(false).await;
    let (client, base) = (Client::new(), f.server.read_url());
    let (_, token) = create_token(&f.store, "reader", Scope::Read, chrono::Utc::now())
        .await
        .expect("token");
    wait_until_closed(&client, &base).await;
    let heatmap = share(
        &client,
        &base,
        token.expose(),
        json!({"heatmap": {"page": format!("{ORIGIN}/demo/"), "kind": "click", "radius": 24, "opacity": 0.7}, "expires_in_s": 3600}),
    )
    .await;
    assert!(
        heatmap.starts_with(&format!("/share/{SITE}/heatmap?")),
        "{heatmap}"
    );
    // The range was fixed and the page named by key when the link was made.
    let today = f.date.clone();
    assert_eq!(
        (
            param(&heatmap, "page"),
            param(&heatmap, "from").len(),
            param(&heatmap, "to")
        ),
        (f.page.clone(), 10, today)
    );

    // Valid: the viewer's page, the PNG (the same image a token gets), the page it is over.
    let (status, body) = open(&client, &base, &heatmap).await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("<html"),
        "the viewer's page"
    );
    let png_path = heatmap.replacen("/heatmap?", "/heatmap.png?", 1);
    let (status, shared_png) = open(&client, &base, &png_path).await;
    assert_eq!(status, 200);
    let query = png_path.split_once('?').expect("query").1;
    let direct = client
        .get(format!("{base}/api/sites/{SITE}/heatmap.png?{query}"))
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("png");
    assert_eq!(direct.bytes().await.expect("png"), shared_png);
    let (status, page) = open(
        &client,
        &base,
        &heatmap.replacen("/heatmap?", "/heatmap.json?", 1),
    )
    .await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&page).expect("json");
    assert_eq!(page["url"], format!("{ORIGIN}/demo/"));
    assert!(page["views"].as_u64().expect("views") > 0, "{page}");
    // A share link is no token: the API still refuses.
    let (status, _) = open(&client, &base, &format!("/api/sites/{SITE}/pages?{query}")).await;
    assert_eq!(status, 401);

    let session = share(
        &client,
        &base,
        token.expose(),
        json!({"session": f.session, "date": f.date, "expires_in_s": 3600}),
    )
    .await;
    assert!(
        session.starts_with(&format!("/share/{SITE}/session?")),
        "{session}"
    );
    assert_eq!(open(&client, &base, &session).await.0, 200);
    let timeline_path = session.replacen("/session?", "/session/timeline?", 1);
    let (status, shared_timeline) = open(&client, &base, &timeline_path).await;
    assert_eq!(status, 200);
    let timeline: Value = serde_json::from_slice(&shared_timeline).expect("json");
    assert_eq!(timeline["id"], f.session.as_str());

    // Tampered, field by field: each is 403 JSON, on each of the link's routes.
    let mut tampered = vec![
        (
            "site",
            heatmap.replacen(&format!("/share/{SITE}/"), "/share/other/", 1),
        ),
        ("kind", heatmap.replacen("/heatmap?", "/session?", 1)),
        (
            "kind",
            timeline_path.replacen("/session/timeline?", "/heatmap.png?", 1),
        ),
        (
            "expiry",
            with_param(
                &heatmap,
                "expires",
                &(param(&heatmap, "expires").parse::<i64>().expect("expires") + 86_400).to_string(),
            ),
        ),
        (
            "signature",
            with_param(
                &heatmap,
                "sig",
                &format!("A{}", &param(&heatmap, "sig")[1..]),
            ),
        ),
        ("signature", with_param(&heatmap, "sig", "")),
        ("added parameter", with_param(&heatmap, "composite", "1")),
        ("session", with_param(&session, "session", "somebody-else")),
        ("date", with_param(&session, "date", "2020-01-01")),
    ];
    for name in ["page", "kind", "from", "to", "radius", "opacity"] {
        let changed = if name == "page" {
            "0000000000000000".to_owned()
        } else {
            format!("{}9", param(&heatmap, name))
        };
        tampered.push(("heatmap parameter", with_param(&heatmap, name, &changed)));
    }
    let (without, _) = heatmap.split_once("&sig=").expect("sig");
    tampered.push(("no signature", without.to_owned()));
    for (field, link) in tampered {
        let variants = if link.contains("/heatmap?") {
            vec![
                link.clone(),
                link.replacen("/heatmap?", "/heatmap.png?", 1),
                link.replacen("/heatmap?", "/heatmap.json?", 1),
            ]
        } else if link.contains("/session?") {
            vec![
                link.clone(),
                link.replacen("/session?", "/session/timeline?", 1),
            ]
        } else {
            vec![link.clone()]
        };
        for variant in variants {
            let (status, body) = open(&client, &base, &variant).await;
            assert_json_error(
                status,
                &body,
                403,
                "not valid",
                &format!("{field}: {variant}"),
            );
        }
    }

    // Expired: refused once its second has passed.
    let brief = share(
        &client,
        &base,
        token.expose(),
        json!({"heatmap": {"page": f.page}, "expires_in_s": 1}),
    )
    .await;
    assert_eq!(open(&client, &base, &brief).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for link in [
        brief.clone(),
        brief.replacen("/heatmap?", "/heatmap.png?", 1),
    ] {
        let (status, body) = open(&client, &base, &link).await;
        assert_json_error(status, &body, 403, "expired", &link);
    }

    // Bad requests for a link.
    for (body, expected) in [
        (
            json!({"heatmap": {"page": f.page}, "expires_in_s": 31 * 86_400}),
            400,
        ),
        (json!({"heatmap": {"page": f.page}, "expires_in_s": 0}), 400),
        (json!({"heatmap": {"page": f.page, "token": "x"}}), 400),
        (json!({"heatmap": {"page": f.page, "kind": "smell"}}), 400),
        (
            json!({"heatmap": {"page": "https://demo.example/nowhere"}}),
            404,
        ),
        (json!({"session": f.session}), 400),
        (json!({"session": "nobody", "date": f.date}), 404),
        (
            json!({"heatmap": {"page": f.page}, "session": f.session, "date": f.date}),
            400,
        ),
        (json!({"everything": true}), 400),
    ] {
        let response = client
            .post(format!("{base}/api/sites/{SITE}/share"))
            .bearer_auth(token.expose())
            .json(&body)
            .send()
            .await
            .expect("share");
        assert_eq!(response.status().as_u16(), expected, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listeners_keep_the_collector_and_the_read_side_apart() {
    let f = fixture(true).await;
    let client = Client::new();
    let (collector, read) = (f.server.url(), f.server.read_url());
    assert_ne!(collector, read);
    let (_, token) = create_token(&f.store, "reader", Scope::Read, chrono::Utc::now())
        .await
        .expect("token");
    let batch = json!({
        "site": SITE, "session": "two-listeners", "seq": 0,
        "page": {"url": format!("{ORIGIN}/demo/"), "viewport": [1280, 800], "started_at": chrono::Utc::now().timestamp_millis()},
        "clicks": [[100, 10, 10, "#a"]]
    });
    let collector_routes = [
        (Method::GET, "/t.js"),
        (Method::GET, "/healthz"),
        (Method::GET, "/metrics"),
        (Method::POST, "/v1/collect"),
        (Method::POST, "/v1/rrweb/demo/s1"),
    ];
    for (method, path) in &collector_routes {
        let mut request = client.request(method.clone(), format!("{collector}{path}"));
        if *method == Method::POST {
            request = request
                .header("content-type", "application/json")
                .body(batch.to_string());
        }
        let response = request.send().await.expect("send");
        assert!(
            response.status() != 404,
            "{path} is on the collector listener: {}",
            response.status()
        );
        let mut request = client
            .request(method.clone(), format!("{read}{path}"))
            .bearer_auth(token.expose());
        if *method == Method::POST {
            request = request
                .header("content-type", "application/json")
                .body(batch.to_string());
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        assert_json_error(
            status,
            &response.bytes().await.expect("body"),
            404,
            "no such endpoint",
            &format!("{path} on the read listener"),
        );
    }
    let mut read_paths: Vec<String> = read_routes(&f).into_iter().map(|call| call.path).collect();
    read_paths.extend(["/", "/viewer.js", "/player.js", "/viewer.css"].map(String::from));
    read_paths.push(format!("/share/{SITE}/heatmap?page={}", f.page));
    for path in &read_paths {
        let response = client
            .get(format!("{collector}{path}"))
            .bearer_auth(token.expose())
            .send()
            .await
            .expect("get");
        let status = response.status();
        let body = response.bytes().await.expect("body");
        // POST-only routes answer 404 too: nothing of the read side is on this listener.
        assert_json_error(
            status,
            &body,
            404,
            "no such endpoint",
            &format!("{path} on the collector listener"),
        );
        let response = client
            .get(format!("{read}{path}"))
            .bearer_auth(token.expose())
            .send()
            .await
            .expect("get");
        assert_ne!(response.status(), 404, "{path} is on the read listener");
    }
}

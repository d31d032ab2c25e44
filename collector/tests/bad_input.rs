//! Malformed and hostile requests against a real collector on 127.0.0.1: each gets its status
//! and a message that says what was wrong, and the server keeps answering.

use std::io::Write;
use std::sync::Arc;

use heatpipe_collector::admission::SiteConfig;
use heatpipe_collector::{Collector, CollectorConfig};
use heatpipe_io::store::LocalStore;
use serde_json::{Value, json};
use tokio::sync::oneshot;

struct TestCollector {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    _folder: tempfile::TempDir,
}

impl Drop for TestCollector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(configure: impl FnOnce(&mut CollectorConfig)) -> TestCollector {
    let folder = tempfile::tempdir().expect("tempdir");
    let mut config = CollectorConfig {
        wal_dir: Some(folder.path().join("wal")),
        max_body_bytes: 64 * 1024,
        max_decompressed_bytes: 256 * 1024,
        max_events_per_batch: 100,
        rate_limit_per_s: 0,
        sites: vec![SiteConfig::parse_flag("shop=https://shop.example").expect("site")],
        ..CollectorConfig::default()
    };
    configure(&mut config);
    let store = Arc::new(LocalStore::open(folder.path().join("store")).expect("store"));
    let collector = Collector::open(store, config).expect("collector");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(heatpipe_collector::serve(collector, listener, async move {
        let _ = stopped.await;
    }));
    TestCollector {
        url,
        stop: Some(stop),
        _folder: folder,
    }
}

fn good() -> Value {
    json!({
        "site": "shop", "session": "s-1", "seq": 0,
        "page": {"url": "https://shop.example/", "viewport": [1280, 800], "document": [1280, 3000], "started_at": 1_795_168_800_000i64},
        "moves": [[10, 1, 2]], "clicks": [[20, 3, 4, "#buy", 0.5, 0.5]], "scrolls": [[30, 100]]
    })
}

fn with(path: &[&str], value: Value) -> Vec<u8> {
    let mut batch = good();
    let mut target = &mut batch;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = value;
    serde_json::to_vec(&batch).expect("json")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    message: &'static str,
}

fn case(name: &'static str, body: Vec<u8>, status: u16, message: &'static str) -> Case {
    Case {
        name,
        method: "POST",
        path: "/v1/collect".into(),
        headers: vec![("content-type", "application/json".into())],
        body,
        status,
        message,
    }
}

fn cases() -> Vec<Case> {
    let rrweb_meta = json!([{"type": 4, "data": {"href": "https://shop.example/", "width": 1280, "height": 800}, "timestamp": 1_795_168_800_000i64}]);
    let long_url = format!("https://shop.example/{}", "a".repeat(3000));
    let many_moves: Vec<Value> = (0..101).map(|i| json!([i, 1, 1])).collect();
    let seventeen_tags: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("t{i}"), json!("v"))).collect();
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut all = vec![
        case("not JSON", b"hello".to_vec(), 400, "not valid JSON"),
        case(
            "no content-length",
            Vec::new(),
            411,
            "content-length header is required",
        ),
        case("empty object", b"{}".to_vec(), 400, "missing field"),
        case(
            "array instead of object",
            b"[1,2,3]".to_vec(),
            400,
            "not valid JSON",
        ),
        case(
            "deeply nested JSON",
            nested.into_bytes(),
            400,
            "not valid JSON",
        ),
        case(
            "unknown field",
            with(&["extra"], json!(1)),
            400,
            "unknown field",
        ),
        case(
            "site of the wrong type",
            with(&["site"], json!(3)),
            400,
            "not valid JSON",
        ),
        case(
            "unknown site",
            with(&["site"], json!("nosuch")),
            404,
            "unknown site",
        ),
        case(
            "malformed site",
            with(&["site"], json!("Shop!")),
            404,
            "unknown site",
        ),
        case(
            "session with spaces",
            with(&["session"], json!("a b")),
            400,
            "session must be",
        ),
        case(
            "session too long",
            with(&["session"], json!("s".repeat(200))),
            400,
            "session must be",
        ),
        case(
            "negative time",
            with(&["moves"], json!([[-5, 1, 1]])),
            400,
            "moves[0] t",
        ),
        case(
            "time past a day",
            with(&["moves"], json!([[90_000_000, 1, 1]])),
            400,
            "moves[0] t",
        ),
        case(
            "absurd coordinate",
            with(&["scrolls"], json!([[1, 1e300]])),
            400,
            "scrolls[0] y",
        ),
        case(
            "negative coordinate far off the page",
            with(&["clicks"], json!([[1, -900000, 2, "#a"]])),
            400,
            "clicks[0] x",
        ),
        case(
            "too many events",
            with(&["moves"], json!(many_moves)),
            400,
            "at most 100",
        ),
        case(
            "javascript URL",
            with(&["page", "url"], json!("javascript:alert(1)")),
            400,
            "http or https",
        ),
        case(
            "relative URL",
            with(&["page", "url"], json!("/cart")),
            400,
            "not a valid absolute URL",
        ),
        case(
            "URL too long",
            with(&["page", "url"], json!(long_url)),
            400,
            "longer than",
        ),
        case(
            "selector too long",
            with(&["clicks"], json!([[1, 1, 1, "a".repeat(300)]])),
            400,
            "selector is longer",
        ),
        case(
            "position inside the target beyond 1",
            with(&["clicks"], json!([[1, 1, 1, "#a", 1.5, 0.5]])),
            400,
            "inside the target",
        ),
        case(
            "zero viewport",
            with(&["page", "viewport"], json!([0, 800])),
            400,
            "page.viewport width",
        ),
        case(
            "bad tag key",
            with(&["page", "tags"], json!({"Bad Key": "x"})),
            400,
            "tag \"Bad Key\"",
        ),
        case(
            "too many tags",
            with(&["page", "tags"], Value::Object(seventeen_tags)),
            400,
            "at most 16",
        ),
        case(
            "resize to zero",
            with(&["resizes"], json!([[1, 0, 10]])),
            400,
            "resizes[0] width",
        ),
    ];
    let mut special = |mut c: Case, edit: &dyn Fn(&mut Case)| {
        edit(&mut c);
        all.push(c);
    };
    special(
        case(
            "wrong content type",
            serde_json::to_vec(&good()).expect("json"),
            415,
            "content type application/xml",
        ),
        &|c| c.headers = vec![("content-type", "application/xml".into())],
    );
    special(
        case(
            "unknown encoding",
            serde_json::to_vec(&good()).expect("json"),
            415,
            "content encoding br",
        ),
        &|c| c.headers.push(("content-encoding", "br".into())),
    );
    special(
        case(
            "body that is not gzip",
            b"plain".to_vec(),
            400,
            "does not decompress",
        ),
        &|c| c.headers.push(("content-encoding", "gzip".into())),
    );
    special(
        case(
            "gzip bomb",
            gzip(&vec![b' '; 10_000_000]),
            413,
            "decompresses to more than",
        ),
        &|c| c.headers.push(("content-encoding", "gzip".into())),
    );
    special(
        case(
            "body over the limit",
            vec![b' '; 100 * 1024],
            413,
            "too large",
        ),
        &|_| {},
    );
    special(
        case(
            "origin not allowed",
            serde_json::to_vec(&good()).expect("json"),
            403,
            "may not send data",
        ),
        &|c| c.headers.push(("origin", "https://evil.example".into())),
    );
    special(
        case(
            "preflight from a foreign origin",
            Vec::new(),
            403,
            "may not send data",
        ),
        &|c| {
            c.method = "OPTIONS";
            c.headers = vec![("origin", "https://evil.example".into())];
        },
    );
    special(
        case(
            "GET on the ingest endpoint",
            Vec::new(),
            405,
            "method not allowed",
        ),
        &|c| c.method = "GET",
    );
    special(
        case("unknown endpoint", Vec::new(), 404, "no such endpoint"),
        &|c| c.path = "/v1/nothing".into(),
    );
    special(
        case(
            "rrweb body that is not an array",
            b"{\"type\": 4}".to_vec(),
            400,
            "JSON array of rrweb events",
        ),
        &|c| c.path = "/v1/rrweb/shop/r-1".into(),
    );
    special(
        case(
            "rrweb unknown site",
            serde_json::to_vec(&rrweb_meta).expect("json"),
            404,
            "unknown site",
        ),
        &|c| c.path = "/v1/rrweb/nosuch/r-3".into(),
    );
    special(
        case(
            "rrweb bad session in path",
            serde_json::to_vec(&rrweb_meta).expect("json"),
            400,
            "session must be",
        ),
        &|c| c.path = "/v1/rrweb/shop/bad%20session".into(),
    );
    special(case("rrweb positive timeOffset", serde_json::to_vec(&json!([rrweb_meta[0], {"type": 3, "data": {"source": 1, "positions": [{"x": 1, "y": 1, "id": 1, "timeOffset": 500}]}, "timestamp": 1_795_168_800_100i64}])).expect("json"), 400, "timeOffset"), &|c| c.path = "/v1/rrweb/shop/r-4".into());
    all
}

async fn send(client: &reqwest::Client, url: &str, case: &Case) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
    let mut request = client
        .request(method, format!("{url}{}", case.path))
        .body(case.body.clone());
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{}: answer is not JSON: {text}", case.name)),
    )
}

#[tokio::test]
async fn every_bad_request_gets_its_status_and_a_clear_json_message() {
    let collector = start(|_| {}).await;
    let client = reqwest::Client::new();
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (status, body) = send(&client, &collector.url, case).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        if status != case.status
            || !message.contains(case.message)
            || body["error"]["status"] != case.status
        {
            failures.push(format!(
                "{}: got {status} {message:?}, expected {} containing {:?}",
                case.name, case.status, case.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let health = client
        .get(format!("{}/healthz", collector.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let (status, body) = send(
        &client,
        &collector.url,
        &case(
            "a good batch still works",
            serde_json::to_vec(&good()).expect("json"),
            200,
            "",
        ),
    )
    .await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    let metrics = client
        .get(format!("{}/metrics", collector.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics
            .lines()
            .any(|l| l == "heatpipe_collector_batches_accepted_total 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "heatpipe_collector_events_accepted_total 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn allowed_origins_get_cors_headers_and_out_of_order_times_are_reported() {
    let collector = start(|_| {}).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/collect", collector.url),
        )
        .header("origin", "https://shop.example")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let response = client
        .post(format!("{}/v1/collect", collector.url))
        .header("origin", "https://shop.example")
        .body(with(&["moves"], json!([[30, 1, 1], [10, 2, 2]])))
        .send()
        .await
        .expect("post");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["warnings"],
        json!(["moves were not in time order; they were sorted"])
    );
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let collector = start(|config| {
        config.rate_limit_per_s = 1;
        config.rate_limit_burst = 3;
    })
    .await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..6 {
        let response = client
            .post(format!("{}/v1/collect", collector.url))
            .body(serde_json::to_vec(&good()).expect("json"))
            .send()
            .await
            .expect("post");
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            refusal = Some(response);
        }
    }
    assert_eq!(
        &statuses[..3],
        [200, 200, 200],
        "the burst is allowed: {statuses:?}"
    );
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let refusal = refusal.expect("a 429");
    assert_eq!(refusal.headers()["retry-after"], "1");
    let body: Value = refusal.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("slow down")
    );
}

#[tokio::test]
async fn a_body_cut_short_gets_400_not_405() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let collector = start(|_| {}).await;
    let address = collector.url.trim_start_matches("http://");
    let mut connection = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let body = serde_json::to_vec(&good()).expect("json");
    let head = format!(
        "POST /v1/collect HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await.expect("head");
    connection
        .write_all(&body[..body.len() / 2])
        .await
        .expect("half the body");
    connection.shutdown().await.expect("close the sending side");
    let mut answer = String::new();
    let _ = connection.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("ended before its announced length"),
        "{answer}"
    );
}

//! Malformed and hostile requests against a real collector on 127.0.0.1: each gets its status
//! and a message that says what was wrong, and the server keeps answering.

mod cases;

use std::sync::Arc;

use cases::{Case, case, cases, good, with};
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

//! Two listeners keep the collector and the read side apart.

use heatpipe_renderer::auth::{Scope, create_token};
use reqwest::{Client, Method};
use serde_json::json;

use crate::fixture::*;

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

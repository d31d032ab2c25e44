//! Every read route needs a valid token of the right scope.

use std::time::Duration;

use heatpipe_renderer::auth::{Scope, create_token, revoke_token};
use reqwest::Client;
use serde_json::Value;

use crate::fixture::*;

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
        "/dom_player.js",
        "/assets/replay.js",
        "/assets/replay.css",
    ] {
        let response = client
            .get(format!("{base}{asset}"))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{asset}");
    }
}

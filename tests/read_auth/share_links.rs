//! Share links open one view until they expire and refuse any change.

use std::time::Duration;

use heatpipe_renderer::auth::{Scope, create_token};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::fixture::*;

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

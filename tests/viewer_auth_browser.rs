//! The viewer in real headless Chromium (playwright-core, `tests/browser/viewer_auth.mjs`)
//! against a read side that has API tokens: it asks for a token, says clearly that a wrong one
//! is not valid and that a read token may not do an admin's call, shows the heatmap once given
//! the read token (the overlay is red over the most clicked element), and its share link shows
//! that heatmap, and a replay's link that replay, to a browser with no token. Screenshots in
//! `target/browser-screenshots/`.

mod common;

use heatpipe_core::keys::date_start_ms;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_processor::process_day;
use heatpipe_renderer::auth::{Scope, create_token};
use serde_json::Value;

fn rgba(value: &Value) -> Vec<u64> {
    value["rgba"]
        .as_array()
        .expect("rgba")
        .iter()
        .map(|v| v.as_u64().expect("byte"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_asks_for_a_token_refuses_a_wrong_one_and_shows_the_heatmap_and_its_share_link() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (server, store, config) = common::demo_server(folder.path()).await;
    let origin = server.url();
    let today = chrono::Utc::now().date_naive();
    let start = date_start_ms(today);
    let streams = generate_traffic(&TrafficSpec {
        seed: 7,
        origin: origin.clone(),
        num_sessions: 120,
        window_ms: start..start + 3_600_000,
    });
    write_chunks(store.as_ref(), "demo", "synthetic", &streams, 200)
        .await
        .expect("chunks");
    process_day(store.clone(), &config.processor.options("demo", today))
        .await
        .expect("process");
    let (_, token) = create_token(&store, "viewer", Scope::Read, chrono::Utc::now())
        .await
        .expect("token");

    // The read side, open on loopback while no token existed, closes at its next reload of
    // the token list (every token_refresh_ms).
    let started = std::time::Instant::now();
    while reqwest::get(format!("{origin}/api/sites/demo/pages"))
        .await
        .expect("get")
        .status()
        != 401
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "the read side stayed open after a token was made"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let shots = common::screenshot_folder();
    let done = common::run_script(
        "viewer_auth.mjs",
        vec![
            origin.clone(),
            shots.display().to_string(),
            token.expose().to_owned(),
        ],
    )
    .await;
    assert_eq!(
        done["page_errors"],
        Value::Array(vec![]),
        "no script errors: {done}"
    );

    assert!(
        done["asked"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("needs an API token")),
        "{done}"
    );
    assert!(
        done["wrong"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("This token is not valid")),
        "{done}"
    );
    assert_eq!(done["panel_hidden"], true, "{done}");
    assert_eq!(done["stored"], true, "the token is kept in sessionStorage");

    let heatmap = &done["heatmap"];
    assert_eq!(heatmap["selector"], "#start-trial", "{heatmap}");
    assert_eq!(
        heatmap["src_is_blob"], true,
        "the PNG is fetched with the token: {heatmap}"
    );
    let pixel = rgba(heatmap);
    assert!(
        pixel[3] >= 150 && pixel[0] >= 200 && pixel[2] <= 80,
        "the overlay over the most clicked element is strong red: {pixel:?}"
    );

    let forbidden = &done["forbidden"];
    assert_eq!(forbidden["refused"], true, "{forbidden}");
    assert!(
        forbidden["status"]
            .as_str()
            .is_some_and(|s| s.contains("This token may not do that")),
        "{forbidden}"
    );
    assert!(
        forbidden["status_class"]
            .as_str()
            .is_some_and(|c| c.contains("refused")),
        "{forbidden}"
    );

    let link = done["link"].as_str().expect("link");
    assert!(
        link.starts_with(&format!("{origin}/share/demo/heatmap?")),
        "{link}"
    );
    let shared = &done["shared"];
    assert_eq!(
        rgba(shared),
        pixel,
        "the shared view draws the same overlay: {shared}"
    );
    for hidden in ["auth_hidden", "pages_hidden", "controls_hidden"] {
        assert_eq!(shared[hidden], true, "{hidden}: {shared}");
    }
    assert_eq!(shared["token_stored"], false, "{shared}");
    assert!(
        shared["status"]
            .as_str()
            .is_some_and(|s| s.contains("shared until")),
        "{shared}"
    );
    let tampered = &done["tampered"];
    assert_eq!(tampered["status"], 403, "{tampered}");
    assert!(
        tampered["body"]
            .as_str()
            .is_some_and(|b| b.contains("not valid")),
        "{tampered}"
    );
    let replay = &done["shared_replay"];
    assert_eq!(
        replay["id"], replay["session"],
        "the shared replay is that session: {replay}"
    );
    for flag in ["sessions_hidden", "share_hidden", "player_shown"] {
        assert_eq!(replay[flag], true, "{flag}: {replay}");
    }
    server.shutdown().await;
}

//! Funnels: each session once per step, in order, within the time limit.

use crate::fixture::*;

#[tokio::test]
async fn funnels_count_each_session_once_in_order_within_the_limit_and_link_the_drop_offs() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let path = |query: &str| format!("/api/sites/{SITE}/funnel?{range}&{query}");
    let funnel = json(&api, &path("steps=/,/product/*,/checkout")).await;
    let steps = funnel["steps"].as_array().expect("steps");
    let counts: Vec<u64> = steps
        .iter()
        .map(|s| s["sessions"].as_u64().expect("n"))
        .collect();
    // s1 goes all the way; s2 reaches a product (and / twice: once); s3 stays on /; s4 sees the
    // steps out of order and reaches only the first, at its end.
    assert_eq!(counts, [4, 2, 1]);
    assert_eq!(steps[1]["url"], "/product/*");
    assert_eq!(steps[0]["step"], 1);
    close(&steps[1]["from_previous"], 0.5, "to a product");
    close(&steps[2]["from_previous"], 0.5, "to checkout");
    close(&steps[2]["from_first"], 0.25, "all the way");
    assert!(steps[0]["median_ms_from_previous"].is_null());
    close(
        &steps[1]["median_ms_from_previous"],
        7_500.0,
        "10 s and 5 s",
    );
    close(&steps[2]["median_ms_from_previous"], 20_000.0, "s1's 20 s");
    assert!(steps[2]["dropped_sessions_url"].is_null());
    assert_eq!(
        listed(&api, &steps[0]["dropped_sessions_url"]).await,
        ["s3", "s4"]
    );
    assert_eq!(
        listed(&api, &steps[1]["dropped_sessions_url"]).await,
        ["s2"]
    );

    // Within 15 s of the first step s1's checkout (30 s in) is too late.
    let quick = json(&api, &path("steps=/,/product/*,/checkout&within=15s")).await;
    let counts: Vec<u64> = quick["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["sessions"].as_u64().expect("n"))
        .collect();
    assert_eq!(counts, [4, 2, 0]);
    assert_eq!(
        listed(&api, &quick["steps"][1]["dropped_sessions_url"]).await,
        ["s1", "s2"]
    );

    // Full URLs and one day.
    let day = json(
        &api,
        &format!(
            "/api/sites/{SITE}/funnel?from={0}&to={0}&steps={1},{2}",
            DAYS[1],
            urlencode(CHECKOUT),
            urlencode(HOME)
        ),
    )
    .await;
    assert_eq!(day["steps"][0]["sessions"], 1);
    assert_eq!(day["steps"][1]["sessions"], 1);
    close(&day["steps"][1]["median_ms_from_previous"], 4_000.0, "s4");
    for bad in ["steps=/", "steps=/,/x&within=soon", "steps=/,not%20a%20url"] {
        let (status, body) = get(&api, &path(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}

//! The dashboard's figures for the range, each day and each page.

use crate::fixture::*;

#[tokio::test]
async fn dashboard_figures_are_the_hand_computed_ones_for_the_range_each_day_and_each_page() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let board = json(&api, &format!("/api/sites/{SITE}/dashboard?{range}")).await;
    assert_eq!(board["sessions"], 4);
    assert_eq!(board["page_views"], 10);
    close(&board["pages_per_session"], 2.5, "pages per session");
    // Active: s1 2500, s2 500, s3 4000, s4 4000.
    close(&board["active_ms_median"], 3_250.0, "median active");
    close(&board["active_ms_mean"], 2_750.0, "mean active");
    // Deepest px: the fold (800, 844 on s3's phone) plus the deepest scroll.
    let all = depths(&[
        1_500.0, 800.0, 800.0, 1_000.0, 800.0, 800.0, 844.0, 800.0, 800.0, 1_100.0,
    ]);
    close(
        &board["scroll_depth_percent_mean"],
        mean(&all),
        "mean depth",
    );
    close(
        &board["scroll_depth_percent_median"],
        800.0 * 100.0 / 3000.0,
        "median depth",
    );
    for figure in [
        "rage_click_share",
        "dead_click_share",
        "excessive_scroll_share",
        "quick_back_share",
    ] {
        close(&board[figure], 0.25, figure);
    }

    let days = board["days"].as_array().expect("days");
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], DAYS[0]);
    assert_eq!(
        (days[0]["sessions"].clone(), days[1]["sessions"].clone()),
        (2.into(), 2.into())
    );
    assert_eq!(days[0]["page_views"], 6);
    close(&days[0]["active_ms_median"], 1_500.0, "day 1 median");
    close(&days[1]["active_ms_median"], 4_000.0, "day 2 median");
    close(&days[0]["rage_click_share"], 0.5, "day 1 rage");
    close(&days[1]["rage_click_share"], 0.0, "day 2 rage");
    close(&days[1]["dead_click_share"], 0.5, "day 2 dead");

    let pages: Vec<(&str, u64)> = board["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| {
            (
                p["url"].as_str().expect("url"),
                p["page_views"].as_u64().expect("views"),
            )
        })
        .collect();
    let (product1, product2, product3) = (url("/product/1"), url("/product/2"), url("/product/3"));
    assert_eq!(
        pages,
        [
            (HOME, 5),
            (CHECKOUT, 2),
            (product1.as_str(), 1),
            (product2.as_str(), 1),
            (product3.as_str(), 1)
        ]
    );
    let home = &board["pages"][0];
    assert_eq!(home["sessions"], 4);
    // Active on the home page per session: s1 2000, s2 500 (+0), s3 4000, s4 4000.
    close(&home["active_ms_median"], 3_000.0, "home median");
    close(&home["active_ms_mean"], 2_625.0, "home mean");
    close(&home["pages_per_session"], 1.25, "home views per session");
    close(
        &home["scroll_depth_percent_mean"],
        mean(&depths(&[1_500.0, 1_000.0, 800.0, 844.0, 1_100.0])),
        "home depth",
    );
    close(
        &home["quick_back_share"],
        0.0,
        "the quick back is product 2's",
    );
    close(&board["pages"][3]["quick_back_share"], 1.0, "product 2");

    // Each figure lists the sessions behind it.
    assert_eq!(
        listed(&api, &board["links"]["sessions"]).await,
        ["s1", "s2", "s3", "s4"]
    );
    assert_eq!(
        listed(&api, &board["links"]["rage_click_share"]).await,
        ["s2"]
    );
    assert_eq!(
        listed(&api, &board["links"]["dead_click_share"]).await,
        ["s3"]
    );
    assert_eq!(
        listed(&api, &board["links"]["excessive_scroll_share"]).await,
        ["s4"]
    );
    assert_eq!(
        listed(&api, &board["links"]["quick_back_share"]).await,
        ["s2"]
    );
    assert_eq!(
        listed(&api, &days[1]["links"]["sessions"]).await,
        ["s3", "s4"]
    );
    assert_eq!(
        listed(&api, &home["links"]["dead_click_share"]).await,
        ["s3"]
    );
    assert!(
        listed(&api, &home["links"]["quick_back_share"])
            .await
            .is_empty(),
        "not on /"
    );
    assert_eq!(
        listed(&api, &board["pages"][1]["links"]["sessions"]).await,
        ["s1", "s4"]
    );

    // Device and segment narrow every figure.
    let phone = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?{range}&device=mobile"),
    )
    .await;
    assert_eq!(
        (phone["sessions"].clone(), phone["page_views"].clone()),
        (1.into(), 1.into())
    );
    close(&phone["dead_click_share"], 1.0, "phone dead");
    assert_eq!(listed(&api, &phone["links"]["sessions"]).await, ["s3"]);
    let a = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?{range}&segment=variant:A"),
    )
    .await;
    assert_eq!(
        (a["sessions"].clone(), a["page_views"].clone()),
        (1.into(), 3.into())
    );
    close(&a["active_ms_mean"], 2_500.0, "variant A active");
    let empty = json(
        &api,
        &format!("/api/sites/{SITE}/dashboard?from=2026-11-01&to=2026-11-02"),
    )
    .await;
    assert_eq!(empty["sessions"], 0);
    assert!(empty["active_ms_median"].is_null() && empty["rage_click_share"].is_null());
    assert_eq!(empty["days"].as_array().map(Vec::len), Some(2));
    let (status, body) = get(&api, &format!("/api/sites/{SITE}/dashboard?device=fridge")).await;
    assert_eq!(status, 400, "{body}");
}

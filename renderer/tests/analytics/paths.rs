//! Paths after and before a page, with exit and entry.

use serde_json::Value;

use crate::fixture::*;

#[tokio::test]
async fn paths_after_and_before_a_page_count_each_session_once_with_exit_and_entry() {
    let api = serve().await;
    let range = format!("from={}&to={}", DAYS[0], DAYS[1]);
    let next = json(
        &api,
        &format!(
            "/api/sites/{SITE}/paths?{range}&page={}&depth=2",
            urlencode(HOME)
        ),
    )
    .await;
    assert_eq!(next["page"], HOME);
    assert_eq!(
        (next["views"].clone(), next["sessions"].clone()),
        (5.into(), 4.into())
    );
    let paths: Vec<(Vec<String>, u64, f64)> = next["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            (
                serde_json::from_value(p["pages"].clone()).expect("pages"),
                p["sessions"].as_u64().expect("n"),
                p["share"].as_f64().expect("share"),
            )
        })
        .collect();
    let owned = |pages: &[&str]| pages.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        paths,
        [
            (owned(&["exit"]), 2, 0.5),
            (owned(&[&url("/product/1"), CHECKOUT]), 1, 0.25),
            (owned(&[&url("/product/2"), HOME]), 1, 0.25),
        ]
    );
    let before = json(
        &api,
        &format!(
            "/api/sites/{SITE}/paths?{range}&page={}&direction=previous&depth=2",
            urlencode(CHECKOUT)
        ),
    )
    .await;
    let pages: Vec<Value> = before["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| p["pages"].clone())
        .collect();
    assert_eq!(
        pages,
        [
            serde_json::json!(["entry"]),
            serde_json::json!([HOME, url("/product/1")]),
        ]
    );
    let home = urlencode(HOME);
    for bad in [
        format!("page={home}&depth=5"),
        format!("page={home}&direction=sideways"),
        "depth=2".to_owned(),
    ] {
        let (status, body) = get(&api, &format!("/api/sites/{SITE}/paths?{range}&{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

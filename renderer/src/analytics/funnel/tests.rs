use heatpipe_core::event::DeviceClass;
use heatpipe_core::page::page_key;
use heatpipe_core::session::{Frustration, PageViewSummary, SessionSummary};

use super::*;

const MINUTE: i64 = 60_000;

/// A session viewing `paths` of shop.example at the given minutes.
fn session(views: &[(&str, i64)]) -> SessionSummary {
    SessionSummary {
        id: "s".into(),
        started_at_ms: 0,
        duration_ms: 0,
        active_ms: 0,
        device: DeviceClass::Desktop,
        num_clicks: 0,
        num_moves: 0,
        num_scrolls: 0,
        tags: Vec::new(),
        visitor_key: None,
        frustration: Frustration::default(),
        page_views: views
            .iter()
            .enumerate()
            .map(|(index, (path, minute))| {
                let url = format!("https://shop.example{path}");
                PageViewSummary {
                    index: index as u32,
                    key: page_key(&url),
                    url,
                    started_at_ms: minute * MINUTE,
                    duration_ms: 0,
                    active_ms: 0,
                    max_depth_px: 0,
                    document_height_px: 0,
                    frustration: Frustration::default(),
                }
            })
            .collect(),
        blocks: Vec::new(),
    }
}

fn funnel(steps: &str, within: Option<&str>) -> Funnel {
    Funnel::parse(Some(steps), within).expect("funnel")
}

#[test]
fn steps_count_in_order_once_with_pages_between_and_repeats() {
    let abc = funnel("/a,/b,/c", None);
    assert_eq!(
        abc.progress(&session(&[("/a", 0), ("/x", 1), ("/b", 2), ("/c", 3)])),
        [0, 2 * MINUTE, 3 * MINUTE]
    );
    assert_eq!(
        abc.reached(&session(&[("/c", 0), ("/b", 1), ("/a", 2)])),
        1,
        "out of order"
    );
    assert_eq!(
        abc.reached(&session(&[("/b", 0), ("/c", 1)])),
        0,
        "never the first step"
    );
    // Reaching the first step twice counts once, from the earliest view.
    assert_eq!(
        abc.progress(&session(&[("/a", 0), ("/a", 1), ("/b", 4)])),
        [0, 4 * MINUTE]
    );
    let again = funnel("/a,/b,/a", None);
    assert_eq!(
        again.reached(&session(&[("/a", 0), ("/b", 1), ("/a", 2)])),
        3
    );
    assert_eq!(
        again.reached(&session(&[("/a", 0), ("/a", 1), ("/b", 2)])),
        2,
        "the second /a comes before /b"
    );
}

#[test]
fn a_time_limit_counts_the_start_that_goes_deepest() {
    let abc = funnel("/a,/b,/c", Some("30m"));
    assert_eq!(abc.within_ms, Some(30 * MINUTE as u64));
    let late = session(&[("/a", 0), ("/b", 40), ("/a", 50), ("/b", 55), ("/c", 60)]);
    assert_eq!(abc.progress(&late), [50 * MINUTE, 55 * MINUTE, 60 * MINUTE]);
    assert_eq!(
        funnel("/a,/b,/c", None).progress(&late),
        [0, 40 * MINUTE, 60 * MINUTE]
    );
    let slow = session(&[("/a", 0), ("/b", 10), ("/c", 31)]);
    assert_eq!(
        abc.reached(&slow),
        2,
        "the third step 31 min after the first"
    );
}

#[test]
fn steps_are_urls_keys_or_prefixes() {
    let product = session(&[("/", 0), ("/product/9", 1), ("/products", 2)]);
    assert_eq!(funnel("/,/product/*", None).reached(&product), 2);
    assert_eq!(
        funnel("https://SHOP.example/,https://shop.example/product/*", None).reached(&product),
        2
    );
    let key = page_key("https://shop.example/products");
    assert_eq!(
        funnel(&format!("/product/9,{key}"), None).reached(&product),
        2
    );
    assert_eq!(
        funnel("/,/prod", None).reached(&product),
        1,
        "a path is exact without *"
    );
    assert_eq!(
        funnel("/,https://other.example/product/*", None).reached(&product),
        1
    );
    for bad in [
        "/a",
        "/a,,",
        "/a,ftp://x/",
        &["/a"; MAX_STEPS + 1].join(","),
    ] {
        assert!(Funnel::parse(Some(bad), None).is_err(), "{bad}");
    }
    assert_eq!(parse_duration_ms("90s").expect("s"), 90_000);
    assert_eq!(parse_duration_ms("2h").expect("h"), 7_200_000);
    for bad in ["", "m", "0m", "30", "-1m", "1w"] {
        assert!(parse_duration_ms(bad).is_err(), "{bad}");
    }
}

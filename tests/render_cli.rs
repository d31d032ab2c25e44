//! `heatpipe render` as a nightly job sees it: every page × kind × device overlay of a day, plus
//! composites over the pages that have a screenshot, written to S3 (s3s-fs on loopback, with
//! signature checking), each a PNG of the page's size; the same run to a folder writes the same
//! bytes.

use std::collections::BTreeSet;
use std::process::Command;

use bytes::Bytes;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::keys::{date_start_ms, page_agg_key, pages_key, parse_date, snapshot_key};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessOptions, process_day};
use image::{ImageFormat, Rgb, RgbImage};

const SITE: &str = "shop";
const DATE: &str = "2026-11-21";
const GREY: [u8; 3] = [90, 90, 90];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_writes_every_overlay_and_composite_to_s3() {
    let folder = tempfile::tempdir().expect("tempdir");
    let data = LocalStore::open(folder.path().join("data")).expect("store");
    let date = parse_date(DATE).expect("date");
    let start = date_start_ms(date);
    let streams = generate_traffic(&TrafficSpec {
        seed: 11,
        origin: "https://shop.example".into(),
        num_sessions: 60,
        window_ms: start..start + 3_600_000,
    });
    write_chunks(&data, SITE, "c1", &streams, 20)
        .await
        .expect("chunks");
    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(data);
    process_day(store.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("process");
    let index = PageIndex::decode(&store.get(&pages_key(SITE, date)).await.expect("index"))
        .expect("decode");
    let shot_page = index.pages[0].key.clone();
    let mut screenshot = Vec::new();
    RgbImage::from_pixel(1200, 900, Rgb(GREY))
        .write_to(&mut std::io::Cursor::new(&mut screenshot), ImageFormat::Png)
        .expect("png");
    store
        .put(
            &snapshot_key(SITE, &shot_page, 1200),
            Bytes::from(screenshot),
        )
        .await
        .expect("put screenshot");

    let s3 = S3TestServer::start(&folder.path().join("s3"), "reports")
        .await
        .expect("s3");
    let settings = s3.settings();
    let data_path = folder.path().join("data");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .args([
                "render",
                "--site",
                SITE,
                "--date",
                DATE,
                "--out",
                "s3://reports/nightly",
            ])
            .arg("--store")
            .arg(data_path)
            .env("AWS_ENDPOINT_URL", settings.endpoint_url.expect("endpoint"))
            .env("AWS_REGION", settings.region)
            .env("AWS_ACCESS_KEY_ID", settings.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", settings.secret_access_key)
            .env("RUST_LOG", "error")
            .output()
    })
    .await
    .expect("join")
    .expect("run heatpipe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let reports = s3.store("reports", "nightly");
    let written: BTreeSet<String> = reports
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    let mut expected = BTreeSet::from([format!("{SITE}/{DATE}/pages.json")]);
    let mut overlays = 0;
    for page in &index.pages {
        let agg = PageAgg::decode(
            &store
                .get(&page_agg_key(SITE, date, &page.key))
                .await
                .expect("page"),
        )
        .expect("decode");
        let devices: BTreeSet<&str> = std::iter::once("all")
            .chain(["desktop", "tablet", "mobile"].into_iter().filter(|d| {
                agg.segments
                    .keys()
                    .any(|k| k.contains(&format!("device={d}")))
            }))
            .collect();
        for kind in ["click", "move", "scroll", "attention"] {
            for device in &devices {
                expected.insert(format!("{SITE}/{DATE}/{}/{kind}-{device}.png", page.key));
                overlays += 1;
                if page.key == shot_page {
                    expected.insert(format!(
                        "{SITE}/{DATE}/{}/{kind}-{device}-composite.png",
                        page.key
                    ));
                }
            }
        }
    }
    assert_eq!(written, expected, "every image, and nothing else");
    let composites = expected
        .iter()
        .filter(|k| k.ends_with("-composite.png"))
        .count();
    assert!(
        stdout.contains(&format!(
            "{overlays} overlays and {composites} composites of {} pages",
            index.pages.len()
        )),
        "summary line: {stdout}"
    );

    // The composite is the screenshot's width, grey where nothing happened, tinted over clicks.
    let composite_key = format!("{SITE}/{DATE}/{shot_page}/click-all-composite.png");
    let composite = image::load_from_memory(&reports.get(&composite_key).await.expect("get"))
        .expect("decode")
        .to_rgb8();
    assert_eq!(composite.width(), 1200);
    let pixels: Vec<[u8; 3]> = composite.pixels().map(|p| p.0).collect();
    assert!(pixels.contains(&GREY), "the screenshot shows through");
    assert!(
        pixels.iter().any(|p| p[0] > 150 && p[0] > p[2]),
        "hot spots are drawn"
    );
    let overlay = image::load_from_memory(
        &reports
            .get(&format!("{SITE}/{DATE}/{shot_page}/click-all.png"))
            .await
            .expect("get"),
    )
    .expect("decode")
    .to_rgba8();
    assert!(
        overlay.pixels().any(|p| p.0[3] == 0),
        "overlays are transparent where nothing happened"
    );
}

//! `heatpipe export` as a CRM or a warehouse sees it: the day's Parquet files read back by
//! DuckDB (from pip, a real Parquet reader) hold exactly the sessions and page views of the
//! session index, identified visitors and tags included; the same export into a real
//! S3-compatible server (s3s-fs on 127.0.0.1) writes the same bytes.

use std::path::Path;
use std::process::{Command, Output};

use heatpipe_core::keys::{date_start_ms, parse_date, session_index_key};
use heatpipe_core::session::{SessionIndex, SessionSummary};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_fixtures::{SessionBuilder, TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use serde_json::{Value, json};

const SITE: &str = "shop";
const DATE: &str = "2026-11-30";
const BUCKET: &str = "exports";

fn heatpipe(args: &[&str], envs: &[(&str, String)]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_heatpipe"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "error")
        .output()
        .expect("run heatpipe");
    assert!(
        output.status.success(),
        "heatpipe {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The fixture traffic of a day, plus two identified visitors' sessions with tags, one of them
/// over three pages.
async fn write_day(store: &LocalStore) {
    let start = date_start_ms(parse_date(DATE).expect("date"));
    let mut streams = generate_traffic(&TrafficSpec {
        seed: 7,
        origin: "https://shop.example".into(),
        num_sessions: 40,
        window_ms: start + 3_600_000..start + 7_200_000,
    });
    streams.extend(
        SessionBuilder::new("s-identified-1", "https://shop.example/", start + 600_000)
            .visitor_key("0123456789abcdef0123456789abcdef")
            .tag("variant", "B")
            .tag("plan", "pro")
            .click(1_000, 100, 200, "#buy")
            .scroll(2_000, 800)
            .next_page("https://shop.example/cart", 5_000)
            .click(6_000, 50, 60, "#checkout")
            .next_page("https://shop.example/checkout", 9_000)
            .build(),
    );
    streams.extend(
        SessionBuilder::new(
            "s-identified-2",
            "https://shop.example/help",
            start + 700_000,
        )
        .visitor_key("fedcba9876543210fedcba9876543210")
        .click(500, 10, 10, "a.more")
        .build(),
    );
    write_chunks(store, SITE, "c1", &streams, 16)
        .await
        .expect("write chunks");
}

/// Reads both files back with DuckDB and prints them as JSON, rows in file order.
fn read_with_duckdb(folder: &Path) -> Value {
    let script = r#"
import duckdb, json, struct, sys
folder = sys.argv[1]
def bits(x):
    # The double's exact bit pattern, so that no decimal printing or parsing can round it.
    return None if x is None else struct.unpack('<q', struct.pack('<d', x))[0]
con = duckdb.connect()
def rows(sql):
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
sessions = rows(f"""
  select site, strftime(date, '%Y-%m-%d') as date, session_id, visitor_key,
         epoch_ms(started_at) as started_at_ms, duration_ms, active_ms, device, page_view_count,
         pages, clicks, moves, scrolls, rage_clicks, dead_clicks, excessive_scrolls, quick_backs,
         map_keys(tags) as tag_keys, map_values(tags) as tag_values
  from read_parquet('{folder}/sessions.parquet')""")
views = rows(f"""
  select site, strftime(date, '%Y-%m-%d') as date, session_id, visitor_key, page_view_index,
         url, page_key, epoch_ms(started_at) as started_at_ms, duration_ms, active_ms,
         max_depth_px, document_height_px, scroll_depth_percent,
         rage_clicks, dead_clicks, excessive_scrolls, quick_backs
  from read_parquet('{folder}/page_views.parquet')""")
for view in views:
    view["scroll_depth_percent"] = bits(view["scroll_depth_percent"])
print(json.dumps({"sessions": sessions, "page_views": views}))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(folder)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "DuckDB could not read the export (CI installs duckdb from pip): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("DuckDB's JSON")
}

fn frustration(f: &heatpipe_core::session::Frustration) -> [(&'static str, Value); 4] {
    [
        ("rage_clicks", json!(f.rage_clicks)),
        ("dead_clicks", json!(f.dead_clicks)),
        ("excessive_scrolls", json!(f.excessive_scrolls)),
        ("quick_backs", json!(f.quick_backs)),
    ]
}

/// What the export must hold, from the session index itself.
fn expected(index: &SessionIndex) -> Value {
    let session_row = |s: &SessionSummary| {
        let mut row = json!({
            "site": SITE, "date": DATE, "session_id": s.id, "visitor_key": s.visitor_key,
            "started_at_ms": s.started_at_ms, "duration_ms": s.duration_ms,
            "active_ms": s.active_ms, "device": s.device.as_str(),
            "page_view_count": s.page_views.len(),
            "pages": s.page_views.iter().map(|v| v.url.clone()).collect::<Vec<_>>(),
            "clicks": s.num_clicks, "moves": s.num_moves, "scrolls": s.num_scrolls,
            "tag_keys": s.tags.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            "tag_values": s.tags.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        });
        for (name, value) in frustration(&s.frustration) {
            row[name] = value;
        }
        row
    };
    let view_rows = index.sessions.iter().flat_map(|s| {
        s.page_views.iter().map(move |v| {
            let mut row = json!({
                "site": SITE, "date": DATE, "session_id": s.id, "visitor_key": s.visitor_key,
                "page_view_index": v.index, "url": v.url, "page_key": v.key,
                "started_at_ms": v.started_at_ms, "duration_ms": v.duration_ms,
                "active_ms": v.active_ms, "max_depth_px": v.max_depth_px,
                "document_height_px": v.document_height_px,
                "scroll_depth_percent": v.scroll_depth_percent().map(|p| p.to_bits() as i64),
            });
            for (name, value) in frustration(&v.frustration) {
                row[name] = value;
            }
            row
        })
    });
    json!({
        "sessions": index.sessions.iter().map(session_row).collect::<Vec<_>>(),
        "page_views": view_rows.collect::<Vec<_>>(),
    })
}

/// Compares the tables row by row, so that a failure names the first row that differs.
fn assert_same_rows(read: &Value, expected: &Value) {
    for table in ["sessions", "page_views"] {
        let (read, expected) = (&read[table], &expected[table]);
        let (Some(read), Some(expected)) = (read.as_array(), expected.as_array()) else {
            panic!("{table}: not arrays");
        };
        assert_eq!(read.len(), expected.len(), "{table}: row count");
        for (row, (got, want)) in read.iter().zip(expected).enumerate() {
            assert_eq!(got, want, "{table} row {row}");
        }
    }
}

// Multi-threaded: the in-process S3 server must answer while this thread waits for the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_parquet_holds_exactly_the_session_index_locally_and_on_s3() {
    let folder = tempfile::tempdir().expect("tempdir");
    let data = folder.path().join("data");
    let store = LocalStore::open(&data).expect("store");
    write_day(&store).await;
    let data_arg = data.to_str().expect("utf-8 path");
    heatpipe(
        &[
            "process", "--store", data_arg, "--site", SITE, "--date", DATE,
        ],
        &[],
    );
    let index = SessionIndex::decode(
        &store
            .get(&session_index_key(SITE, parse_date(DATE).expect("date")))
            .await
            .expect("session index"),
    )
    .expect("decode index");
    assert!(index.sessions.len() > 40, "the day has its sessions");
    assert!(
        index
            .sessions
            .iter()
            .any(|s| s.visitor_key.is_some() && !s.tags.is_empty()),
        "the day has an identified, tagged session"
    );

    let out = folder.path().join("out");
    let out_arg = out.to_str().expect("utf-8 path");
    let printed = heatpipe(
        &[
            "export", "--store", data_arg, "--site", SITE, "--date", DATE, "--out", out_arg,
        ],
        &[],
    );
    let printed = String::from_utf8_lossy(&printed.stdout).into_owned();
    let views: usize = index.sessions.iter().map(|s| s.page_views.len()).sum();
    assert!(
        printed.starts_with(&format!(
            "{SITE} {DATE}: {} sessions, {views} page views",
            index.sessions.len()
        )),
        "{printed}"
    );
    let day_folder = out.join(SITE).join(DATE);
    assert_same_rows(&read_with_duckdb(&day_folder), &expected(&index));

    let mut s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
        .await
        .expect("s3 server");
    let settings = s3.settings();
    let envs = [
        (
            "AWS_ENDPOINT_URL",
            settings.endpoint_url.clone().expect("endpoint"),
        ),
        ("AWS_REGION", settings.region.clone()),
        ("AWS_ACCESS_KEY_ID", settings.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", settings.secret_access_key.clone()),
    ];
    let s3_out = format!("s3://{BUCKET}/crm");
    heatpipe(
        &[
            "export", "--store", data_arg, "--site", SITE, "--date", DATE, "--out", &s3_out,
        ],
        &envs,
    );
    let bucket = s3.store(BUCKET, "crm");
    for file in ["sessions.parquet", "page_views.parquet"] {
        let key = format!("{SITE}/{DATE}/{file}");
        let on_s3 = bucket.get(&key).await.expect("exported object on S3");
        let local = std::fs::read(day_folder.join(file)).expect("local file");
        assert_eq!(on_s3.as_ref(), local.as_slice(), "{file} differs on S3");
    }
    s3.stop();
}

#[test]
fn a_day_never_processed_is_refused_by_name() {
    let folder = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_heatpipe"))
        .args(["export", "--site", SITE, "--date", DATE, "--out"])
        .arg(folder.path().join("out"))
        .arg("--store")
        .arg(folder.path().join("data"))
        .output()
        .expect("run heatpipe");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no session index for shop on 2026-11-30"),
        "{stderr}"
    );
    assert!(
        !folder.path().join("out").join(SITE).exists(),
        "nothing written"
    );
}

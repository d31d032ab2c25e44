//! `heatpipe retention` as cron runs it: every lane of every site loses exactly the days before
//! today - N days (UTC) and keeps the day at the limit and the younger ones; `--dry-run` deletes
//! nothing; a second run deletes nothing; the same on S3.

use std::process::{Command, Output};

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_io::store::{LocalStore, ObjectStore};

const BUCKET: &str = "retention";

/// Runs `heatpipe retention ARGS` off the runtime, with `envs` (the S3 settings).
async fn heatpipe(args: Vec<String>, envs: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .arg("retention")
            .args(args)
            .envs(envs)
            .env("RUST_LOG", "error")
            .output()
            .expect("run heatpipe")
    })
    .await
    .expect("join")
}

fn days_ago(days: u64) -> NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Days::new(days)
}

/// The objects of one lane's day: two raw chunks and an rrweb batch; one object elsewhere.
fn lane_day_keys(lane: &str, site: &str, date: NaiveDate) -> Vec<String> {
    match lane {
        "raw" => vec![
            format!("raw/{site}/{date}/05/c1-0000000000000001.hpc"),
            format!("raw/{site}/{date}/05/c1-0000000000000001.hpr"),
            format!("raw/{site}/{date}/23/c2-0000000000000007.hpc"),
        ],
        "replay" => vec![format!("replay/{site}/{date}/s-1.rec")],
        "partial" => vec![format!("partial/{site}/{date}/shard-0000-of-0002.hpp")],
        "sessions" => vec![format!("sessions/{site}/{date}/index.hps")],
        "agg" => vec![
            format!("agg/{site}/{date}/pages.hpa"),
            format!("agg/{site}/{date}/page/00ff00ff00ff00ff.hpa"),
        ],
        other => panic!("no lane {other}"),
    }
}

/// Each lane with its default limit in days.
const LANES: [(&str, u64); 5] = [
    ("raw", 30),
    ("replay", 30),
    ("partial", 30),
    ("sessions", 90),
    ("agg", 395),
];

/// For every lane and two sites: the day past the limit, the day at it and the day after it;
/// plus objects retention must never touch. Returns (every key, the keys that must go).
async fn fill(store: &dyn ObjectStore) -> (Vec<String>, Vec<String>) {
    let mut all = vec![
        "auth/tokens/ops.json".to_owned(),
        "audit/shop/2020-01-01/x.json".to_owned(),
        "snapshots/shop/00ff00ff00ff00ff/w01280.png".to_owned(),
        "raw/shop/not-a-date/x".to_owned(),
    ];
    let mut expired = Vec::new();
    for site in ["shop", "blog"] {
        for (lane, limit) in LANES {
            expired.extend(lane_day_keys(lane, site, days_ago(limit + 1)));
            for kept in [days_ago(limit), days_ago(limit - 1)] {
                all.extend(lane_day_keys(lane, site, kept));
            }
        }
    }
    all.extend(expired.iter().cloned());
    for key in &all {
        store.put(key, Bytes::from(key.clone())).await.expect("put");
    }
    all.sort();
    expired.sort();
    (all, expired)
}

async fn keys(store: &dyn ObjectStore) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    keys.sort();
    keys
}

/// The lines retention prints for the expired days, in its order (lane, site, date).
fn expected_lines(verb: &str) -> String {
    let mut out = String::new();
    for (lane, limit) in LANES {
        for site in ["blog", "shop"] {
            let date = days_ago(limit + 1);
            let count = lane_day_keys(lane, site, date).len();
            out.push_str(&format!("{verb} {lane} {site} {date} objects={count}\n"));
        }
    }
    out
}

/// Runs dry run, run and rerun against `location`, checking `store` after each.
async fn check_retention(store: &dyn ObjectStore, location: &str, envs: Vec<(String, String)>) {
    let (all, expired) = fill(store).await;
    let store_args = |extra: &[&str]| {
        let mut args = vec!["--store".to_owned(), location.to_owned()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };

    let dry = heatpipe(store_args(&["--dry-run"]), envs.clone()).await;
    assert!(dry.status.success(), "{dry:?}");
    assert_eq!(
        String::from_utf8_lossy(&dry.stdout),
        expected_lines("would delete")
    );
    assert_eq!(keys(store).await, all, "a dry run deletes nothing");

    let run = heatpipe(store_args(&[]), envs.clone()).await;
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        expected_lines("deleted")
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains(&format!(
            "deleted {} objects in 10 lane-days",
            expired.len()
        )),
        "{run:?}"
    );
    let left: Vec<String> = all
        .into_iter()
        .filter(|key| !expired.contains(key))
        .collect();
    assert_eq!(
        keys(store).await,
        left,
        "exactly the days past each limit are gone"
    );

    let again = heatpipe(store_args(&[]), envs).await;
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "",
        "nothing left to delete"
    );
    assert_eq!(keys(store).await, left);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_days_past_each_limit_on_a_local_store() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(folder.path()).expect("store");
    let location = folder.path().to_string_lossy().into_owned();
    check_retention(&store, &location, Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_days_past_each_limit_on_s3() {
    let folder = tempfile::tempdir().expect("tempdir");
    let s3 = S3TestServer::start(folder.path(), BUCKET)
        .await
        .expect("s3 server");
    let settings = s3.settings();
    let envs = vec![
        (
            "AWS_ENDPOINT_URL".to_owned(),
            settings.endpoint_url.clone().expect("endpoint"),
        ),
        ("AWS_REGION".to_owned(), settings.region.clone()),
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            settings.access_key_id.clone(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            settings.secret_access_key.clone(),
        ),
    ];
    let store = s3.store(BUCKET, "site-data");
    check_retention(&store, &format!("s3://{BUCKET}/site-data"), envs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_the_limits() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(folder.path()).expect("store");
    let old = format!("sessions/shop/{}/index.hps", days_ago(8));
    let young = format!("sessions/shop/{}/index.hps", days_ago(7));
    for key in [&old, &young] {
        store.put(key, Bytes::from_static(b"x")).await.expect("put");
    }
    let run = heatpipe(
        vec![
            "--store".into(),
            folder.path().to_string_lossy().into_owned(),
            "--sessions-days".into(),
            "7".into(),
        ],
        Vec::new(),
    )
    .await;
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("deleted sessions shop {} objects=1\n", days_ago(8))
    );
    assert_eq!(keys(&store).await, [young]);
}

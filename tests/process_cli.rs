//! The `heatpipe process` and `merge` commands as a batch job sees them: date ranges, one
//! summary line per day, skipped chunks named on stderr, `--strict` exit status, shards.

use std::path::Path;
use std::process::{Command, Output};

use bytes::Bytes;
use heatpipe_core::keys::{date_start_ms, pages_key, parse_date};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};

const SITE: &str = "news";

fn heatpipe(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heatpipe"))
        .args(args)
        .arg("--store")
        .arg(store)
        .env("RUST_LOG", "error")
        .output()
        .expect("run heatpipe")
}

async fn write_day(store: &LocalStore, date: &str, seed: u64) {
    let start = date_start_ms(parse_date(date).expect("date"));
    let streams = generate_traffic(&TrafficSpec {
        seed,
        origin: "https://news.example".into(),
        num_sessions: 30,
        window_ms: start..start + 3_600_000,
    });
    write_chunks(store, SITE, "c1", &streams, 20)
        .await
        .expect("write chunks");
}

#[tokio::test]
async fn ranges_strict_mode_and_shards_behave_as_documented() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(folder.path()).expect("store");
    write_day(&store, "2026-11-20", 1).await;
    write_day(&store, "2026-11-21", 2).await;
    let corrupt = "raw/news/2026-11-21/05/c9-0000000000000000.hpc";
    store
        .put(corrupt, Bytes::from_static(b"HPCK garbage"))
        .await
        .expect("put corrupt");

    let range = heatpipe(
        folder.path(),
        &[
            "process",
            "--site",
            SITE,
            "--from",
            "2026-11-20",
            "--to",
            "2026-11-21",
        ],
    );
    let stdout = String::from_utf8_lossy(&range.stdout);
    let stderr = String::from_utf8_lossy(&range.stderr);
    assert!(range.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("news 2026-11-20: chunks="), "{stdout}");
    assert!(lines[1].contains("skipped=1"), "{stdout}");
    assert!(stderr.contains(&format!("skipped {corrupt}: ")), "{stderr}");
    for date in ["2026-11-20", "2026-11-21"] {
        let key = pages_key(SITE, parse_date(date).expect("date"));
        assert!(store.get(&key).await.is_ok(), "{key} written");
    }

    let strict = heatpipe(
        folder.path(),
        &[
            "process",
            "--site",
            SITE,
            "--date",
            "2026-11-21",
            "--strict",
        ],
    );
    assert_eq!(strict.status.code(), Some(3), "{strict:?}");
    let clean_strict = heatpipe(
        folder.path(),
        &[
            "process",
            "--site",
            SITE,
            "--date",
            "2026-11-20",
            "--strict",
        ],
    );
    assert!(clean_strict.status.success(), "{clean_strict:?}");

    let process_shard = |shard: &str| {
        heatpipe(
            folder.path(),
            &[
                "process",
                "--site",
                SITE,
                "--date",
                "2026-11-20",
                "--shard",
                shard,
            ],
        )
    };
    let bad_shard = process_shard("2/2");
    assert_eq!(bad_shard.status.code(), Some(2), "clap refuses it");
    let single = store
        .get(&pages_key(SITE, parse_date("2026-11-20").expect("date")))
        .await
        .expect("single-run page index");
    for shard in ["0/2", "1/2"] {
        let run = process_shard(shard);
        assert!(run.status.success(), "{run:?}");
        assert!(String::from_utf8_lossy(&run.stdout).contains(&format!("shard {shard}:")));
    }
    let merge = heatpipe(
        folder.path(),
        &[
            "merge",
            "--site",
            SITE,
            "--date",
            "2026-11-20",
            "--shards",
            "2",
        ],
    );
    assert!(merge.status.success(), "{merge:?}");
    let merged = store
        .get(&pages_key(SITE, parse_date("2026-11-20").expect("date")))
        .await
        .expect("merged page index");
    assert_eq!(merged, single);
}

//! Store faults during `process`, against a real S3-compatible server (s3s-fs) on 127.0.0.1: an
//! outage mid-run is waited out by the `RetryStore` and the day is written exactly as an
//! undisturbed run writes it; an outage that lasts fails the run naming a chunk, and nothing of
//! the day is written; a chunk the server lists but no longer has fails `heatpipe process` with
//! status 1, naming it.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date, raw_day_prefix};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, processing_outputs, write_sealed_chunks};
use heatpipe_io::store::{MemoryStore, ObjectStore, RetrySettings, RetryStore, StoreErrorKind};
use heatpipe_processor::{ProcessError, ProcessOptions, ProgressHook, process_day};
use tokio::sync::oneshot;

const BUCKET: &str = "heatpipe";
const SITE: &str = "faults";
const DATE: &str = "2026-11-21";
/// How long the server is down in the outage that is waited out.
const OUTAGE: Duration = Duration::from_secs(4);

/// A day of 120 sessions, as a collector sealing every 10 minutes stores it.
fn day_streams() -> Vec<Stream> {
    let start = date_start_ms(parse_date(DATE).expect("date"));
    generate_traffic(&TrafficSpec {
        seed: 26,
        origin: "https://faults.example".into(),
        num_sessions: 120,
        window_ms: start..start + 86_400_000,
    })
}

/// Writes the day's chunks into `store`; returns their keys.
async fn write_day(store: &dyn ObjectStore) -> Vec<String> {
    write_sealed_chunks(store, SITE, "c1", &mut day_streams(), 600_000)
        .await
        .expect("write chunks")
}

/// Retries quick enough for a test: delays from 50 ms up to 500 ms, within `budget_ms`.
fn retrying(store: Arc<dyn ObjectStore>, budget_ms: u64) -> Arc<dyn ObjectStore> {
    let settings = RetrySettings {
        first_delay_ms: 50,
        max_delay_ms: 500,
        budget_ms,
        max_attempts: 1_000,
        attempt_timeout_ms: 10_000,
        ..RetrySettings::default()
    };
    Arc::new(RetryStore::new(store, settings))
}

/// Options of a run in windows of 4 chunks that, once the first window is fetched, tells
/// `reached` and waits for `resume` before it fetches any further: the test stops the server
/// in between, so that the rest of the run meets the outage.
fn pausing_after_the_first_window(
    reached: oneshot::Sender<()>,
    resume: mpsc::Receiver<()>,
) -> ProcessOptions {
    let gate = Mutex::new(Some((reached, resume)));
    let mut options = ProcessOptions::new(SITE, parse_date(DATE).expect("date"));
    options.window_chunks = 4;
    options.fetch_concurrency = 2;
    options.progress = Some(ProgressHook(Arc::new(move |_, _| {
        let taken = gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((reached, resume)) = taken {
            let _ = reached.send(());
            // The hook is called on the run's task: wait without holding up the runtime.
            tokio::task::block_in_place(|| {
                let _ = resume.recv_timeout(Duration::from_secs(30));
            });
        }
    })));
    options
}

/// The keys `store` holds under the day's output prefixes (and any shard partial).
async fn day_outputs(store: &dyn ObjectStore) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in [
        format!("agg/{SITE}/{DATE}/"),
        format!("sessions/{SITE}/{DATE}/"),
        format!("partial/{SITE}/"),
    ] {
        found.extend(
            store
                .list(&prefix)
                .await
                .expect("list")
                .into_iter()
                .map(|m| m.key),
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_mid_run_is_waited_out_and_the_day_is_written_as_if_nothing_happened() {
    let undisturbed: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
    let keys = write_day(undisturbed.as_ref()).await;
    assert!(keys.len() > 12, "{} chunks: several windows", keys.len());
    let date = parse_date(DATE).expect("date");
    let expected = process_day(undisturbed.clone(), &ProcessOptions::new(SITE, date))
        .await
        .expect("undisturbed run");
    let expected_outputs = processing_outputs(undisturbed.as_ref())
        .await
        .expect("outputs");

    let folder = tempfile::tempdir().expect("tempdir");
    let mut s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
        .await
        .expect("s3 server");
    let backend: Arc<dyn ObjectStore> = Arc::new(s3.store(BUCKET, ""));
    assert_eq!(write_day(backend.as_ref()).await, keys);
    let store = retrying(backend, 30_000);

    let (reached, reached_receiver) = oneshot::channel();
    let (resume, resume_receiver) = mpsc::channel();
    let options = pausing_after_the_first_window(reached, resume_receiver);
    let run = tokio::spawn({
        let store = store.clone();
        async move { process_day(store, &options).await }
    });
    reached_receiver.await.expect("the first window is fetched");
    s3.stop();
    let stopped = Instant::now();
    resume.send(()).expect("the run waits");
    tokio::time::sleep(OUTAGE).await;
    s3.restart().await.expect("s3 back");
    let summary = run
        .await
        .expect("join")
        .expect("the run waits the outage out");
    let waited = stopped.elapsed();
    eprintln!("outage of {OUTAGE:?} waited out; the run ended {waited:?} after the stop");

    assert!(
        waited >= OUTAGE,
        "the run ended during the outage: {waited:?}"
    );
    assert_eq!(
        (
            summary.chunks,
            summary.chunks_skipped + summary.blocks_skipped,
            summary.duplicate_streams,
            summary.streams,
            summary.events,
            summary.pages,
            summary.sessions
        ),
        (
            expected.chunks,
            0,
            expected.duplicate_streams,
            expected.streams,
            expected.events,
            expected.pages,
            expected.sessions
        )
    );
    assert!(
        processing_outputs(store.as_ref()).await.expect("outputs") == expected_outputs,
        "the outputs are the undisturbed run's, byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stays_down_fails_the_run_naming_a_chunk_and_nothing_is_written() {
    let folder = tempfile::tempdir().expect("tempdir");
    let mut s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
        .await
        .expect("s3 server");
    let backend: Arc<dyn ObjectStore> = Arc::new(s3.store(BUCKET, ""));
    write_day(backend.as_ref()).await;
    let store = retrying(backend, 1_000);

    let (reached, reached_receiver) = oneshot::channel();
    let (resume, resume_receiver) = mpsc::channel();
    let options = pausing_after_the_first_window(reached, resume_receiver);
    let run = tokio::spawn({
        let store = store.clone();
        async move { process_day(store, &options).await }
    });
    reached_receiver.await.expect("the first window is fetched");
    s3.stop();
    let stopped = Instant::now();
    resume.send(()).expect("the run waits");
    let err = run.await.expect("join").expect_err("the store stays down");
    let failed_after = stopped.elapsed();
    eprintln!("store down for good: the run failed {failed_after:?} after the stop: {err}");

    assert!(
        matches!(
            err.store_kind(),
            Some(StoreErrorKind::Unavailable | StoreErrorKind::Timeout)
        ),
        "{err}"
    );
    let ProcessError::Chunk { key, .. } = &err else {
        panic!("not a chunk error: {err}");
    };
    let date = parse_date(DATE).expect("date");
    assert!(key.starts_with(&raw_day_prefix(SITE, date)), "{key}");
    assert!(err.to_string().contains(key.as_str()), "{err}");
    assert!(failed_after < Duration::from_secs(20), "{failed_after:?}");

    s3.restart().await.expect("s3 back");
    let written = day_outputs(store.as_ref()).await;
    assert!(written.is_empty(), "a failed run wrote {written:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heatpipe_process_exits_1_naming_a_listed_chunk_the_store_no_longer_has() {
    let folder = tempfile::tempdir().expect("tempdir");
    let s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
        .await
        .expect("s3 server");
    let store = s3.store(BUCKET, "");
    write_day(&store).await;
    // s3s-fs lists every file of the bucket's folder, and answers a GET by opening it: a
    // dangling link is an object the server lists and then reports missing (404 NoSuchKey), as
    // S3 does for an object deleted between the listing and the read.
    let gone = format!(
        "{}12/zz-gone.hpc",
        raw_day_prefix(SITE, parse_date(DATE).expect("date"))
    );
    dangling_link(&folder.path().join("s3").join(BUCKET).join(&gone));
    assert!(
        store
            .list("raw/")
            .await
            .expect("list")
            .iter()
            .any(|m| m.key == gone)
    );
    let failed = store.get(&gone).await.expect_err("gone");
    assert_eq!(failed.kind, StoreErrorKind::NotFound, "{failed}");

    let settings = s3.settings();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_heatpipe"))
            .args(["process", "--site", SITE, "--date", DATE])
            .args(["--store", &format!("s3://{BUCKET}")])
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&gone) && stderr.contains("NotFound"),
        "{stderr}"
    );
    assert!(!stderr.contains("skipped"), "{stderr}");
    assert!(
        stdout.is_empty(),
        "no summary line for a failed day: {stdout}"
    );
    let written = day_outputs(&store).await;
    assert!(written.is_empty(), "a failed run wrote {written:?}");
}

/// Makes `path` a symbolic link to nothing.
fn dangling_link(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
    std::os::unix::fs::symlink(path.with_extension("nowhere"), path).expect("symlink");
}

#[tokio::test]
async fn a_corrupt_chunk_on_s3_is_still_skipped_and_reported() {
    let folder = tempfile::tempdir().expect("tempdir");
    let s3 = S3TestServer::start(&folder.path().join("s3"), BUCKET)
        .await
        .expect("s3 server");
    let backend: Arc<dyn ObjectStore> = Arc::new(s3.store(BUCKET, ""));
    write_day(backend.as_ref()).await;
    let date = parse_date(DATE).expect("date");
    let corrupt = format!("{}12/zz-corrupt.hpc", raw_day_prefix(SITE, date));
    backend
        .put(&corrupt, Bytes::from_static(b"HPCK not a chunk"))
        .await
        .expect("put");
    let summary = process_day(retrying(backend, 1_000), &ProcessOptions::new(SITE, date))
        .await
        .expect("a corrupt chunk is skipped");
    assert_eq!(summary.chunks_skipped, 1);
    assert_eq!(summary.skipped[0].0, corrupt);
}

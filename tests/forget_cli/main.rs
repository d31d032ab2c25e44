//! `heatpipe forget --session` end to end, on a local store and on S3: a processed day loses one
//! session everywhere (no chunk, index, aggregate or DOM recording names it), its pages lose
//! exactly its views and clicks, its timeline and recording answer 404, and every other object
//! is byte for byte what processing a store that never had the session writes. A dry run changes nothing; a second run removes
//! nothing and says so; the audit record names no id. Then the same through
//! `DELETE /api/sites/{site}/sessions/{id}`, for admin tokens only.

mod fixture;

use std::sync::Arc;

use fixture::*;
use heatpipe::config::Config;
use heatpipe::server::{ServeOptions, ServerHandle};
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{date_start_ms, parse_date};
use heatpipe_fixtures::s3_server::S3TestServer;
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_sealed_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};
use heatpipe_processor::{ProcessorConfig, process_day};
use heatpipe_renderer::Renderer;
use heatpipe_renderer::auth::{Scope, create_token};
use heatpipe_renderer::recording::load_recording;
use heatpipe_renderer::routes::listing::{TimelineQuery, timeline};

/// Runs the whole check on `store` at `location` (with `envs` for S3).
async fn check_forget(store: Arc<dyn ObjectStore>, location: &str, envs: Vec<(String, String)>) {
    let streams = traffic();
    let session = victim(&streams);
    let num_victim_streams = streams.iter().filter(|s| s.session_id == session).count();
    processed_day(&store, streams.clone()).await;
    let reference_folder = tempfile::tempdir().expect("tempdir");
    let reference: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(reference_folder.path()).expect("store"));
    let without: Vec<Stream> = streams
        .iter()
        .filter(|s| s.session_id != session)
        .cloned()
        .collect();
    processed_day(&reference, without).await;
    let before = page_counts(store.as_ref()).await;
    assert!(objects_naming(store.as_ref(), &session).await.0 > 0);
    let everything = objects(store.as_ref(), &[""]).await;

    let dry = heatpipe(
        forget_args(location, &session, &["--dry-run"]),
        envs.clone(),
    )
    .await;
    assert!(dry.status.success(), "{dry:?}");
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry_out.contains(&format!(
            "(dry run): would remove 1 session(s), {num_victim_streams} stream(s)"
        )),
        "{dry_out}"
    );
    let after_dry = objects(store.as_ref(), &[""]).await;
    let changed: Vec<&String> = after_dry
        .iter()
        .filter(|(key, bytes)| !everything.iter().any(|(k, b)| k == key && b == bytes))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        changed,
        ["auth/audit-key"],
        "a dry run writes only the audit key"
    );

    let run = heatpipe(forget_args(location, &session, &[]), envs.clone()).await;
    assert!(run.status.success(), "{run:?}");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains(&format!(
            "removed 1 session(s), {num_victim_streams} stream(s)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("  {DATE}: 1 session(s) in the index, reprocessed")),
        "{out}"
    );
    assert!(
        out.contains(
            "  DOM recordings: 2 block(s) from 2 replay object(s) (2 rewritten, 0 deleted)"
        ),
        "{out}"
    );
    assert!(!out.contains(&session), "the report names no id: {out}");

    let (naming, decoded) = objects_naming(store.as_ref(), &session).await;
    assert_eq!(naming, 0, "no object names the session");
    assert!(decoded > 10, "{decoded} objects decoded");
    let after = page_counts(store.as_ref()).await;
    for (key, (views, clicks)) in victim_counts(&streams, &session) {
        let (views_before, clicks_before) = before[&key];
        let (views_after, clicks_after) = after.get(&key).copied().unwrap_or((0, 0));
        assert_eq!(views_before - views_after, views, "views of page {key}");
        assert_eq!(clicks_before - clicks_after, clicks, "clicks of page {key}");
    }
    assert_eq!(
        objects(store.as_ref(), &["raw/", "agg/", "sessions/", "replay/"]).await,
        objects(
            reference.as_ref(),
            &["raw/", "agg/", "sessions/", "replay/"]
        )
        .await,
        "chunks, aggregates, indexes and recordings equal a run that never had the session"
    );

    let renderer = Renderer::new(store.clone(), Default::default());
    let query = TimelineQuery {
        date: Some(DATE.into()),
        from: None,
        to: None,
    };
    let gone = timeline(SITE, &session, &query, &renderer).await;
    assert_eq!(
        gone.err().map(|err| err.status().as_u16()),
        Some(404),
        "the timeline is gone"
    );
    let other = &streams
        .iter()
        .find(|s| s.session_id != session)
        .expect("other")
        .session_id;
    assert!(timeline(SITE, other, &query, &renderer).await.is_ok());
    let date = parse_date(DATE).expect("date");
    let recording = load_recording(store.as_ref(), SITE, &session, date).await;
    assert_eq!(
        recording.err().map(|err| err.status().as_u16()),
        Some(404),
        "the recording is gone"
    );
    let kept = load_recording(store.as_ref(), SITE, other, date).await;
    assert_eq!(kept.expect("another session still plays").events.len(), 2);

    let (tombstones, audit): (Vec<_>, Vec<_>) = store
        .list(&format!("audit/{SITE}/"))
        .await
        .expect("audit")
        .into_iter()
        .partition(|meta| meta.key.starts_with(&format!("audit/{SITE}/erased/")));
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        tombstones.len(),
        1,
        "one tombstone, for what collectors still hold: {tombstones:?}"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&store.get(&audit[0].key).await.expect("record")).expect("json");
    assert_eq!(record["kind"], "session");
    assert_eq!(record["num_streams"], num_victim_streams as u64);
    assert_eq!(record["num_replay_blocks"], 2);
    assert_eq!(record["days"], serde_json::json!([DATE]));
    assert_eq!(record["subject_hmac"].as_str().map(str::len), Some(64));
    assert!(!record.to_string().contains(&session), "{record}");

    let settled = objects(store.as_ref(), &["raw/", "agg/", "sessions/"]).await;
    let again = heatpipe(forget_args(location, &session, &[]), envs).await;
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to remove"),
        "{again:?}"
    );
    assert_eq!(
        objects(store.as_ref(), &["raw/", "agg/", "sessions/"]).await,
        settled,
        "a second run changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_erases_a_session_everywhere_on_a_local_store() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(folder.path()).expect("store"));
    check_forget(store, &folder.path().to_string_lossy(), Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_erases_a_session_everywhere_on_s3() {
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
    let store: Arc<dyn ObjectStore> = Arc::new(s3.store(BUCKET, "data"));
    check_forget(store, &format!("s3://{BUCKET}/data"), envs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delete_route_erases_for_admin_tokens_only() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.path().join("store")).expect("store"));
    let streams = traffic();
    let session = victim(&streams);
    processed_day(&store, streams.clone()).await;
    let now = chrono::Utc::now();
    let (_, admin) = create_token(&store, "ops", Scope::Admin, now)
        .await
        .expect("admin");
    let (_, read) = create_token(&store, "viewer", Scope::Read, now)
        .await
        .expect("read");
    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.path().join("wal"));
    let server = ServerHandle::start(store.clone(), config, ServeOptions::default())
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let url = format!("{}/api/sites/{SITE}/sessions/{session}", server.read_url());
    let timeline_url = format!("{url}/timeline?date={DATE}");

    let anonymous = client.delete(&url).send().await.expect("send");
    assert_eq!(anonymous.status().as_u16(), 401);
    let wrong = send_as(
        client.delete(&url),
        "hp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        "Bearer realm=\"heatpipe\""
    );
    let refused = send_as(client.delete(&url), read.expose()).await;
    assert_eq!(refused.status().as_u16(), 403);
    let still_there = send_as(client.get(&timeline_url), read.expose()).await;
    assert_eq!(
        still_there.status().as_u16(),
        200,
        "a refused erasure erases nothing"
    );

    let malformed_url = format!("{}/api/sites/{SITE}/sessions/not.an.id", server.read_url());
    let malformed = send_as(client.delete(malformed_url), admin.expose()).await;
    assert_eq!(malformed.status().as_u16(), 400);
    let erased = send_as(client.delete(&url), admin.expose()).await;
    assert_eq!(erased.status().as_u16(), 200);
    let report: serde_json::Value = erased.json().await.expect("json");
    let num_streams = streams.iter().filter(|s| s.session_id == session).count() as u64;
    assert_eq!(report["num_sessions"], 1, "{report}");
    assert_eq!(report["raw"]["num_streams"], num_streams, "{report}");
    assert_eq!(report["days"][0]["reprocessed"], true, "{report}");
    let gone = send_as(client.get(&timeline_url), read.expose()).await;
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(objects_naming(store.as_ref(), &session).await.0, 0);
    let again: serde_json::Value = send_as(client.delete(&url), admin.expose())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["num_sessions"], 0, "{again}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_visitor_erases_its_sessions_across_two_days() {
    use heatpipe_io::secret::{load_or_create_secret, visitor_key, visitor_secret_key};

    let folder = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.path().join("store")).expect("store"));
    let reference: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(folder.path().join("reference")).expect("store"));
    let secret = load_or_create_secret(store.as_ref(), &visitor_secret_key(SITE))
        .await
        .expect("secret");
    let key = visitor_key(&secret, "crm-42");
    let other_key = visitor_key(&secret, "crm-7");
    let mut erased = Vec::new();
    for (date, seed) in [("2026-11-21", 27), ("2026-11-22", 28)] {
        let start = date_start_ms(parse_date(date).expect("date"));
        let mut streams = generate_traffic(&TrafficSpec {
            seed,
            origin: "https://shop.example".into(),
            num_sessions: 30,
            window_ms: start..start + 2 * 3_600_000,
        });
        let session = victim(&streams);
        identify(&mut streams, &session, &key);
        let bystander = victim(
            &streams
                .iter()
                .filter(|s| s.session_id != session)
                .cloned()
                .collect::<Vec<_>>(),
        );
        identify(&mut streams, &bystander, &other_key);
        let without: Vec<Stream> = streams
            .iter()
            .filter(|s| s.session_id != session)
            .cloned()
            .collect();
        for (target, day) in [(&store, streams), (&reference, without)] {
            let mut day = day;
            write_sealed_chunks(target.as_ref(), SITE, "c1", &mut day, 20_000)
                .await
                .expect("chunks");
            let options = ProcessorConfig::default().options(SITE, parse_date(date).expect("date"));
            process_day(target.clone(), &options)
                .await
                .expect("process");
        }
        erased.push(session);
    }
    let location = folder.path().join("store").to_string_lossy().into_owned();
    let run = heatpipe(
        vec![
            "forget".into(),
            "--store".into(),
            location.clone(),
            "--site".into(),
            SITE.into(),
            "--visitor".into(),
            "crm-42".into(),
        ],
        Vec::new(),
    )
    .await;
    assert!(run.status.success(), "{run:?}");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.starts_with("forget visitor "), "{out}");
    assert!(out.contains("removed 2 session(s)"), "{out}");
    for date in ["2026-11-21", "2026-11-22"] {
        assert!(
            out.contains(&format!("  {date}: 1 session(s) in the index, reprocessed")),
            "{out}"
        );
    }
    assert!(!out.contains("crm-42") && !out.contains(&key), "{out}");
    for session in &erased {
        assert_eq!(
            objects_naming(store.as_ref(), session).await.0,
            0,
            "{session}"
        );
    }
    assert_eq!(
        objects_naming(store.as_ref(), &key).await.0,
        0,
        "the visitor key is gone"
    );
    assert!(
        objects_naming(store.as_ref(), &other_key).await.0 > 0,
        "another visitor stays"
    );
    assert_eq!(
        objects(store.as_ref(), &["raw/", "agg/", "sessions/"]).await,
        objects(reference.as_ref(), &["raw/", "agg/", "sessions/"]).await,
        "both days equal runs that never had the visitor"
    );
    let audit = objects(store.as_ref(), &["audit/"]).await;
    let records = audit.iter().filter(|(key, _)| !key.contains("/erased/"));
    for (_, bytes) in records {
        let text = String::from_utf8_lossy(bytes);
        assert!(text.contains("\"kind\": \"visitor\""), "{text}");
        assert!(!text.contains("crm-42") && !text.contains(&key), "{text}");
    }

    let mut config = Config {
        process_every_s: 0,
        ..Config::default()
    };
    config.collector.wal_dir = Some(folder.path().join("wal"));
    let server = ServerHandle::start(store.clone(), config, ServeOptions::default())
        .await
        .expect("server");
    let url = format!("{}/api/sites/{SITE}/visitors/crm-7", server.read_url());
    let report: serde_json::Value = reqwest::Client::new()
        .delete(&url)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(report["kind"], "visitor", "{report}");
    assert_eq!(report["num_sessions"], 2, "{report}");
    assert_eq!(objects_naming(store.as_ref(), &other_key).await.0, 0);
    server.shutdown().await;
}

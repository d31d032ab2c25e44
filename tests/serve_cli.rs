//! `heatpipe serve` and `heatpipe token` as an operator runs them: the real binary refuses to
//! put an open read side on a non-loopback address, starts once a token exists, splits the
//! collector and the read side over `--listen` and `--read-listen`; tokens are printed once,
//! listed without their hash and revoked by name.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn heatpipe(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heatpipe"));
    command.args(args).env("RUST_LOG", "error");
    command
}

fn run(args: &[&str]) -> Output {
    heatpipe(args).output().expect("run heatpipe")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `serve` started in the background, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with `args` and returns it with the addresses it printed on its first line.
fn serve(folder: &Path, args: &[&str]) -> (Running, Vec<String>) {
    let store = folder.join("store");
    let wal = folder.join("wal");
    let mut child = heatpipe(&["serve", "--process-every", "0"])
        .arg("--store")
        .arg(&store)
        .arg("--wal-dir")
        .arg(&wal)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let addresses = line
        .split("http://")
        .skip(1)
        .map(|rest| {
            rest.split(['/', ' ', ')'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    (running, addresses)
}

fn create_token(folder: &Path, name: &str, scope: &str) -> String {
    let store = folder.join("store");
    let store = store.to_str().expect("utf-8 path");
    let created = run(&[
        "token", "create", "--store", store, "--name", name, "--scope", scope,
    ]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {stdout:?}");
    assert!(
        lines[0].starts_with("hp_") && lines[0].len() == 46,
        "{stdout:?}"
    );
    assert!(
        text(&created.stderr).contains("shown only this once"),
        "{}",
        text(&created.stderr)
    );
    lines[0].to_owned()
}

#[test]
fn serve_refuses_a_non_loopback_read_side_without_a_token() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = folder.path().join("store");
    let wal = folder.path().join("wal");
    let (store, wal) = (store.to_str().expect("path"), wal.to_str().expect("path"));
    for listeners in [
        vec!["--listen", "0.0.0.0:0"],
        vec!["--listen", "127.0.0.1:0", "--read-listen", "0.0.0.0:0"],
    ] {
        let mut args = vec![
            "serve",
            "--store",
            store,
            "--wal-dir",
            wal,
            "--process-every",
            "0",
        ];
        args.extend(&listeners);
        let refused = run(&args);
        assert_eq!(refused.status.code(), Some(1), "{listeners:?}: {refused:?}");
        let message = text(&refused.stderr);
        assert!(
            message.contains("no API token exists")
                && message.contains(&format!("heatpipe token create --store {store} --name"))
                && message.contains("--scope admin"),
            "{listeners:?}: {message}"
        );
        assert!(refused.stdout.is_empty(), "nothing was served: {refused:?}");
    }
    // A collector alone may be public: it needs no token.
    let mut collector = heatpipe(&[
        "collect",
        "--listen",
        "0.0.0.0:0",
        "--store",
        store,
        "--wal-dir",
        wal,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .map(Running)
    .expect("spawn collect");
    let mut line = String::new();
    BufReader::new(collector.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    assert!(
        line.starts_with("heatpipe collector on http://0.0.0.0:"),
        "{line}"
    );
    drop(collector);
    // Once a token exists, the same command starts.
    create_token(folder.path(), "ops", "admin");
    let (_running, addresses) = serve(
        folder.path(),
        &["--listen", "127.0.0.1:0", "--read-listen", "0.0.0.0:0"],
    );
    assert_eq!(addresses.len(), 2, "{addresses:?}");
    assert!(addresses[1].starts_with("0.0.0.0:"), "{addresses:?}");
    // `collect` has no read side to move.
    let refused = run(&[
        "collect",
        "--store",
        store,
        "--wal-dir",
        wal,
        "--read-listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("--read-listen is for serve"));
}

/// GETs `url` with an optional bearer token; returns the status and body.
async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("get");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

#[tokio::test]
async fn serve_splits_the_collector_and_the_read_side_over_two_listeners() {
    let folder = tempfile::tempdir().expect("tempdir");
    let token = create_token(folder.path(), "reader", "read");
    let (_running, addresses) = serve(
        folder.path(),
        &["--listen", "127.0.0.1:0", "--read-listen", "127.0.0.1:0"],
    );
    let [collector, read] = [0, 1].map(|i| format!("http://{}", addresses[i]));
    let started = Instant::now();
    while get(&format!("{collector}/healthz"), None).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not answer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in ["/t.js", "/metrics", "/healthz"] {
        assert_eq!(
            get(&format!("{collector}{path}"), None).await.0,
            200,
            "{path}"
        );
        let (status, body) = get(&format!("{read}{path}"), Some(&token)).await;
        let body: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            (status, &body["error"]["status"]),
            (404, &Value::from(404)),
            "{path} on the read listener"
        );
    }
    for path in [
        "/api/sites/demo/pages",
        "/api/sites/demo/sessions",
        "/",
        "/viewer.js",
    ] {
        let (status, body) = get(&format!("{collector}{path}"), Some(&token)).await;
        let body: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            (status, &body["error"]["status"]),
            (404, &Value::from(404)),
            "{path} on the collector listener"
        );
    }
    assert_eq!(
        get(&format!("{read}/api/sites/demo/pages"), Some(&token))
            .await
            .0,
        200
    );
    let (status, body) = get(&format!("{read}/api/sites/demo/pages"), None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        get(&format!("{read}/"), None).await.0,
        200,
        "the viewer's page needs no token"
    );
}

#[test]
fn tokens_are_printed_once_listed_without_hash_and_revoked_by_name() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store = folder.path().join("store");
    let store_arg = store.to_str().expect("path");
    let reader = create_token(folder.path(), "reader", "read");
    let ops = create_token(folder.path(), "ops", "admin");
    assert_ne!(reader, ops);
    // The store holds no secret.
    for entry in std::fs::read_dir(store.join("auth/tokens")).expect("tokens folder") {
        let stored = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        assert!(
            !stored.contains(&reader) && !stored.contains(&ops),
            "{stored}"
        );
    }
    let again = run(&[
        "token", "create", "--store", store_arg, "--name", "ops", "--scope", "read",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    let bad = run(&[
        "token", "create", "--store", store_arg, "--name", "ops", "--scope", "root",
    ]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown scope");

    let listed = run(&["token", "list", "--store", store_arg]);
    assert!(listed.status.success());
    let listed = text(&listed.stdout);
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|line| line.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert_eq!((rows[0][0], rows[0][1]), ("ops", "admin"));
    assert_eq!((rows[1][0], rows[1][1]), ("reader", "read"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(rows[0][2]).is_ok(),
        "{listed}"
    );
    assert!(
        !listed.contains("hp_") && rows.iter().all(|row| row.len() == 3),
        "{listed}"
    );

    let revoked = run(&["token", "revoke", "--store", store_arg, "reader"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let listed = text(&run(&["token", "list", "--store", store_arg]).stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    // A token kept in a Kubernetes Secret: installed from the environment, idempotently.
    let kept = "hp_".to_owned() + &"A".repeat(42) + "E";
    for expected in ["created", "already in place", "already in place"] {
        let installed = heatpipe(&[
            "token",
            "create",
            "--store",
            store_arg,
            "--name",
            "cluster",
            "--scope",
            "admin",
            "--from-env",
            "HEATPIPE_BOOTSTRAP_TOKEN",
        ])
        .env("HEATPIPE_BOOTSTRAP_TOKEN", &kept)
        .output()
        .expect("run");
        assert!(installed.status.success(), "{}", text(&installed.stderr));
        assert!(installed.stdout.is_empty(), "nothing printed");
        assert!(
            text(&installed.stderr).contains(expected),
            "{}",
            text(&installed.stderr)
        );
    }
    let weak = heatpipe(&[
        "token",
        "create",
        "--store",
        store_arg,
        "--name",
        "weak",
        "--scope",
        "read",
        "--from-env",
        "HEATPIPE_BOOTSTRAP_TOKEN",
    ])
    .env("HEATPIPE_BOOTSTRAP_TOKEN", "hp_password")
    .output()
    .expect("run");
    assert_eq!(weak.status.code(), Some(1), "a weak token is refused");
    let listed = text(&run(&["token", "list", "--store", store_arg]).stdout);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let missing = run(&["token", "revoke", "--store", store_arg, "reader"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no token named"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_second_process_on_the_same_log_fails_at_start_naming_the_first() {
    let folder = tempfile::tempdir().expect("tempdir");
    let (first, addresses) = serve(folder.path(), &["--listen", "127.0.0.1:0"]);
    assert!(!addresses.is_empty(), "the first serve announced itself");
    let second = run(&[
        "collect",
        "--listen",
        "127.0.0.1:0",
        "--store",
        &folder.path().join("store").display().to_string(),
        "--wal-dir",
        &folder.path().join("wal").display().to_string(),
    ]);
    assert_eq!(second.status.code(), Some(1));
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains("in use by another heatpipe process")
            && stderr.contains(&format!("pid {}", first.0.id())),
        "{stderr}"
    );
    assert!(
        !text(&second.stdout).contains("http://"),
        "a collector that cannot start announces no address: {}",
        text(&second.stdout)
    );
}

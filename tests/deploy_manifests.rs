//! `deploy/k8s/render.sh`, the one command that makes a site's Kubernetes manifests: what it
//! renders passes the Kubernetes schemas (`kubernetes-validate --strict`, installed by
//! `.ci/run`), carries the bucket, shard count and site it was given and no placeholder, refuses
//! bad arguments; and the nightly CronJob's script, run here against a local store, processes
//! yesterday in shards, merges them and renders the PNGs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use heatpipe_core::keys::{date_start_ms, pages_key};
use heatpipe_fixtures::{TrafficSpec, generate_traffic, write_chunks};
use heatpipe_io::store::{LocalStore, ObjectStore};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn render(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(root().join("deploy/k8s/render.sh"))
        .args(args)
        .env_remove("HEATPIPE_IMAGE")
        .env_remove("AWS_REGION")
        .output()
        .expect("run render.sh")
}

fn rendered(args: &[&str]) -> String {
    let output = render(args);
    assert!(
        output.status.success(),
        "render.sh {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The validator's command: `kubernetes-validate` on the PATH, else the Python module.
fn validator() -> Command {
    let on_path = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if on_path {
        Command::new("kubernetes-validate")
    } else {
        let mut command = Command::new("python3");
        command.args(["-m", "kubernetes_validate"]);
        command
    }
}

fn validate(yaml: &str, name: &str) {
    let folder = tempfile::tempdir().expect("tempdir");
    let file = folder.path().join(name);
    std::fs::write(&file, yaml).expect("write");
    let output = validator()
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate runs (`pip install kubernetes-validate`, as .ci/run does)");
    assert!(
        output.status.success(),
        "{name} does not match the Kubernetes schemas:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn kinds(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|line| line.strip_prefix("kind: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rendered_manifests_match_the_kubernetes_schemas() {
    let site = rendered(&["analytics-bucket", "6", "news"]);
    assert_eq!(
        kinds(&site),
        ["Deployment", "Service", "Deployment", "Service", "CronJob"]
    );
    for expected in [
        "s3://analytics-bucket/heatpipe",
        "shards=6",
        "--site=news",
        "--read-listen=0.0.0.0:8081",
        "--listen=127.0.0.1:8080",
        "type: LoadBalancer",
        "type: ClusterIP",
        "name: heatpipe-s3",
        "name: heatpipe-api-token",
        "--from-env=HEATPIPE_BOOTSTRAP_TOKEN",
        "emptyDir",
        "image: heatpipe:latest",
    ] {
        assert!(
            site.contains(expected),
            "the site's manifests lack {expected:?}"
        );
    }
    assert!(!site.contains('@'), "a placeholder is left");
    validate(&site, "site.yaml");

    let backfill = rendered(&["analytics-bucket", "6", "news", "2026-11-21"]);
    assert_eq!(kinds(&backfill), ["Job", "Job"]);
    for expected in [
        "completions: 6",
        "value: \"6\"",
        "--shards=6",
        "--date=2026-11-21",
        "heatpipe-process-2026-11-21",
    ] {
        assert!(
            backfill.contains(expected),
            "the backfill lacks {expected:?}"
        );
    }
    assert!(!backfill.contains('@'), "a placeholder is left");
    validate(&backfill, "backfill.yaml");

    for bad in [
        vec!["only-a-bucket"],
        vec!["Bad_Bucket", "4"],
        vec!["bucket", "0"],
        vec!["bucket", "four"],
        vec!["bucket", "4", "Not A Site"],
        vec!["bucket", "4", "shop", "yesterday"],
    ] {
        let output = render(&bad);
        assert_eq!(output.status.code(), Some(2), "render.sh {bad:?}");
        assert!(
            output.stdout.is_empty(),
            "render.sh {bad:?} printed manifests"
        );
    }
}

/// The nightly CronJob's shell script, as rendered.
fn nightly_script(yaml: &str) -> String {
    let opening = "args:\n                - |\n";
    let start = yaml.find(opening).expect("the script") + opening.len();
    let end = start
        + yaml[start..]
            .find("\n              env:")
            .expect("end of the script");
    yaml[start..end]
        .lines()
        .map(|line| line.strip_prefix("                  ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_nightly_script_processes_yesterday_in_shards_merges_and_renders() {
    let folder = tempfile::tempdir().expect("tempdir");
    let store_dir = folder.path().join("store");
    let png_dir = folder.path().join("png");
    let store = LocalStore::open(&store_dir).expect("store");
    let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let start = date_start_ms(yesterday);
    let streams = generate_traffic(&TrafficSpec {
        seed: 5,
        origin: "https://news.example".into(),
        num_sessions: 40,
        window_ms: start..start + 3_600_000,
    });
    write_chunks(&store, "news", "c1", &streams, 20)
        .await
        .expect("chunks");

    let script = nightly_script(&rendered(&["analytics-bucket", "3", "news"]))
        .replace(
            "s3://analytics-bucket/heatpipe",
            &store_dir.display().to_string(),
        )
        .replace("s3://analytics-bucket/png", &png_dir.display().to_string())
        .replace(
            "/scratch",
            &folder.path().join("scratch").display().to_string(),
        );
    std::fs::create_dir_all(folder.path().join("scratch")).expect("scratch");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_heatpipe"));
    let path = format!(
        "{}:{}",
        binary.parent().expect("bin folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("/bin/sh")
        .args(["-c", &script])
        .env("PATH", path)
        .env("RUST_LOG", "error")
        .output()
        .expect("run the script");
    assert!(
        output.status.success(),
        "the nightly script failed:\n{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches(" shard ").count(), 3, "{stdout}");
    assert!(stdout.contains("merged 3 shards"), "{stdout}");
    store
        .get(&pages_key("news", yesterday))
        .await
        .expect("the merged day's page index");
    let pages_json = png_dir
        .join("news")
        .join(yesterday.to_string())
        .join("pages.json");
    assert!(pages_json.exists(), "render wrote {}", pages_json.display());
}

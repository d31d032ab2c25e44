//! The replay benchmarks' browser side: the Bootstrap-styled shop page carrying heatpipe's
//! tracker, served on 127.0.0.1, and the Node.js scripts under `benches/browser/` that drive
//! headless Chromium over it (`benches/replay.sh` installs their packages).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use warp::Filter;

/// The site the shop page's tag names.
pub const SITE: &str = "shop";
/// 2026-11-20 08:00 UTC: recorded sessions start then (Playwright's clock), on that day.
pub const START_MS: i64 = 1_795_161_600_000;

/// `benches/browser/`: the page, the scripts and their `node_modules`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Serves `routes` on 127.0.0.1 in the background; returns its base URL.
pub async fn serve_local<F>(routes: F) -> anyhow::Result<String>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(warp::serve(routes).incoming(listener).run());
    Ok(url)
}

/// Serves the shop page (its tag pointing at `collector`) and Bootstrap's stylesheet; returns
/// the page's URL.
pub async fn serve_page(collector: &str) -> anyhow::Result<String> {
    let html = std::fs::read_to_string(browser_dir().join("shop.html"))?
        .replace("{{COLLECTOR}}", collector)
        .replace("{{SITE}}", SITE);
    let css_path = browser_dir().join("node_modules/bootstrap/dist/css/bootstrap.min.css");
    let css = std::fs::read(&css_path).with_context(|| {
        format!(
            "{} (run benches/replay.sh, which installs it)",
            css_path.display()
        )
    })?;
    let page = warp::path!("shop.html").map(move || warp::reply::html(html.clone()));
    let style = warp::path!("bootstrap.min.css").map(move || {
        warp::http::Response::builder()
            .header("content-type", "text/css")
            .body(css.clone())
            .unwrap_or_default()
    });
    Ok(format!("{}/shop.html", serve_local(page.or(style)).await?))
}

/// Runs `node benches/browser/SCRIPT ARGS`, its messages passed through; returns its standard
/// output.
pub async fn node(script: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::process::Command::new("node")
        .arg(browser_dir().join(script))
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .context("node (Node.js) must be installed")?;
    if !output.status.success() {
        bail!("{script} failed ({}), its messages above", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

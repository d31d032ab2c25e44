//! Page backgrounds for heatmaps: a full-page screenshot of a URL at a layout width, taken with
//! headless Chromium (`heatpipe snapshot`) and stored at
//! `snapshots/{site}/{page_key}/w{width}.png`, where `composite=1` finds it.
//!
//! The page is loaded in a viewport of the chosen width (mobile emulation below 768 px, as the
//! device classes), given a moment to settle after its load event, measured, and captured down to
//! its full height. The tracker is kept quiet: the window is named `heatpipe-preview`, which
//! `t.js` never records, so snapshots add no traffic to the data.

pub mod cdp;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use base64::Engine;
use cdp::Browser;

/// Tallest screenshot taken, in CSS pixels (Chromium's own texture limit is near this).
pub const MAX_SNAPSHOT_HEIGHT_PX: u32 = 16_384;
/// Viewport height while the page loads.
const VIEWPORT_HEIGHT_PX: u32 = 900;

/// Why a snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot start chromium: {0}")]
    Launch(String),
    #[error("chromium: {0}")]
    Protocol(String),
    #[error("{url} did not finish loading within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{0}")]
    Page(String),
}

/// How to take a snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub chromium: PathBuf,
    pub width_px: u32,
    /// Longest wait for the browser and for the page's load event.
    pub timeout: Duration,
    /// Wait after the load event, for late layout and web fonts.
    pub settle: Duration,
}

impl SnapshotOptions {
    pub fn new(width_px: u32) -> Self {
        SnapshotOptions {
            chromium: PathBuf::from("chromium"),
            width_px,
            timeout: Duration::from_secs(30),
            settle: Duration::from_millis(300),
        }
    }
}

/// A captured page.
#[derive(Debug, Clone)]
pub struct Capture {
    pub png: Vec<u8>,
    pub width_px: u32,
    pub height_px: u32,
}

/// Loads `url` in headless Chromium and captures the whole page as a PNG.
pub async fn capture(url: &str, options: &SnapshotOptions) -> Result<Capture, SnapshotError> {
    let mut browser = Browser::launch(&options.chromium, options.timeout).await?;
    let result = capture_in(&mut browser, url, options).await;
    browser.close().await;
    result
}

async fn capture_in(
    browser: &mut Browser,
    url: &str,
    options: &SnapshotOptions,
) -> Result<Capture, SnapshotError> {
    let target = browser
        .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
        .await?;
    let attached = browser
        .call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await?;
    let session = attached["sessionId"]
        .as_str()
        .ok_or_else(|| SnapshotError::Protocol("no session id".into()))?
        .to_owned();
    let page = Some(session.as_str());
    browser.call(page, "Page.enable", json!({})).await?;
    browser
        .call(
            page,
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "window.name = 'heatpipe-preview';" }),
        )
        .await?;
    set_viewport(browser, &session, options.width_px, VIEWPORT_HEIGHT_PX).await?;
    // Only the load event of the page navigated to counts, not a late one of about:blank.
    browser.forget_events();
    let navigated = browser
        .call(page, "Page.navigate", json!({ "url": url }))
        .await?;
    if let Some(error) = navigated.get("errorText").and_then(|e| e.as_str()) {
        return Err(SnapshotError::Page(format!("cannot load {url}: {error}")));
    }
    tokio::time::timeout(
        options.timeout,
        browser.wait_for(&session, "Page.loadEventFired"),
    )
    .await
    .map_err(|_| SnapshotError::Timeout {
        url: url.to_owned(),
        seconds: options.timeout.as_secs(),
    })??;
    tokio::time::sleep(options.settle).await;
    let measured = browser
        .call(
            page,
            "Runtime.evaluate",
            json!({
                "expression": "Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))",
                "returnByValue": true
            }),
        )
        .await?;
    let height_px = measured["result"]["value"]
        .as_f64()
        .map_or(VIEWPORT_HEIGHT_PX, |h| h as u32)
        .clamp(1, MAX_SNAPSHOT_HEIGHT_PX);
    // Lay the page out at its full height so fixed and viewport-sized parts are drawn once.
    set_viewport(browser, &session, options.width_px, height_px).await?;
    let shot = browser
        .call(
            page,
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": options.width_px, "height": height_px, "scale": 1 }
            }),
        )
        .await?;
    let data = shot["data"]
        .as_str()
        .ok_or_else(|| SnapshotError::Protocol("no screenshot data".into()))?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|err| SnapshotError::Protocol(format!("screenshot data: {err}")))?;
    Ok(Capture {
        png,
        width_px: options.width_px,
        height_px,
    })
}

async fn set_viewport(
    browser: &mut Browser,
    session: &str,
    width_px: u32,
    height_px: u32,
) -> Result<(), SnapshotError> {
    browser
        .call(
            Some(session),
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width_px,
                "height": height_px,
                "deviceScaleFactor": 1,
                "mobile": width_px < 768
            }),
        )
        .await
        .map(|_| ())
}

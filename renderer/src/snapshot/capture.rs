//! One snapshot, step by step: open a tab that keeps the tracker quiet, load the page at the
//! chosen width, measure it, lay it out at its full height and capture it.

use std::time::Duration;

use base64::Engine;
use serde_json::json;

use super::cdp::Browser;
use super::{Capture, MAX_SNAPSHOT_HEIGHT_PX, SnapshotError, SnapshotOptions};

/// Viewport height while the page loads.
const VIEWPORT_HEIGHT_PX: u32 = 900;

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
    let session = open_quiet_tab(browser).await?;
    set_viewport(browser, &session, options.width_px, VIEWPORT_HEIGHT_PX).await?;
    load(browser, &session, url, options.timeout).await?;
    tokio::time::sleep(options.settle).await;
    let height_px = page_height(browser, &session).await?;
    // Lay the page out at its full height so fixed and viewport-sized parts are drawn once.
    set_viewport(browser, &session, options.width_px, height_px).await?;
    let png = screenshot(browser, &session, options.width_px, height_px).await?;
    Ok(Capture {
        png,
        width_px: options.width_px,
        height_px,
    })
}

/// Opens a blank tab whose window is named `heatpipe-preview` in every document it loads (so
/// `t.js` records nothing); returns its session id.
async fn open_quiet_tab(browser: &mut Browser) -> Result<String, SnapshotError> {
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
    Ok(session)
}

/// Navigates `session` to `url` and waits, at most `timeout`, for its load event.
async fn load(
    browser: &mut Browser,
    session: &str,
    url: &str,
    timeout: Duration,
) -> Result<(), SnapshotError> {
    // Only the load event of the page navigated to counts, not a late one of about:blank.
    browser.forget_events();
    let navigated = browser
        .call(Some(session), "Page.navigate", json!({ "url": url }))
        .await?;
    if let Some(error) = navigated.get("errorText").and_then(|e| e.as_str()) {
        return Err(SnapshotError::Page(format!("cannot load {url}: {error}")));
    }
    tokio::time::timeout(timeout, browser.wait_for(session, "Page.loadEventFired"))
        .await
        .map_err(|_| SnapshotError::Timeout {
            url: url.to_owned(),
            seconds: timeout.as_secs(),
        })??;
    Ok(())
}

/// Returns the loaded page's full height, within 1..=[`MAX_SNAPSHOT_HEIGHT_PX`].
async fn page_height(browser: &mut Browser, session: &str) -> Result<u32, SnapshotError> {
    let measured = browser
        .call(
            Some(session),
            "Runtime.evaluate",
            json!({
                "expression": "Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))",
                "returnByValue": true
            }),
        )
        .await?;
    Ok(measured["result"]["value"]
        .as_f64()
        .map_or(VIEWPORT_HEIGHT_PX, |h| h as u32)
        .clamp(1, MAX_SNAPSHOT_HEIGHT_PX))
}

/// Captures the top `width_px` × `height_px` of the page as a PNG.
async fn screenshot(
    browser: &mut Browser,
    session: &str,
    width_px: u32,
    height_px: u32,
) -> Result<Vec<u8>, SnapshotError> {
    let shot = browser
        .call(
            Some(session),
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width_px, "height": height_px, "scale": 1 }
            }),
        )
        .await?;
    let data = shot["data"]
        .as_str()
        .ok_or_else(|| SnapshotError::Protocol("no screenshot data".into()))?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|err| SnapshotError::Protocol(format!("screenshot data: {err}")))
}

/// Sets the viewport of `session`, emulating a mobile device below 768 px.
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

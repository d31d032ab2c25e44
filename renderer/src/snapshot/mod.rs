//! Page backgrounds for heatmaps: a full-page screenshot of a URL at a layout width, taken with
//! headless Chromium (`heatpipe snapshot`) and stored at
//! `snapshots/{site}/{page_key}/w{width}.png`, where `composite=1` finds it.
//!
//! The page is loaded in a viewport of the chosen width (mobile emulation below 768 px, as the
//! device classes), given a moment to settle after its load event, measured, and captured down to
//! its full height. The tracker is kept quiet: the window is named `heatpipe-preview`, which
//! `t.js` never records, so snapshots add no traffic to the data.
//!
//! # Layout
//! - `mod.rs` (here) — the options, the captured page, the errors.
//! - `capture` — one snapshot, step by step: [`capture`].
//! - [`cdp`] — just enough of the DevTools protocol: launch, call, wait for an event.

mod capture;
pub mod cdp;

use std::path::PathBuf;
use std::time::Duration;

pub use capture::capture;

/// Tallest screenshot taken, in CSS pixels (Chromium's own texture limit is near this).
pub const MAX_SNAPSHOT_HEIGHT_PX: u32 = 16_384;

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

//! The native batch: the JSON the tracker posts to `POST /v1/collect`, and its validation into a
//! [`Stream`]. Events are compact arrays so a batch of mouse moves stays small on the wire.
//!
//! ```json
//! {"site": "demo", "session": "k3j…", "seq": 0, "page_view": 0,
//!  "page": {"url": "https://shop.example/", "viewport": [1280, 800], "document": [1280, 4200],
//!           "started_at": 1763800000000, "tags": {"variant": "B"}},
//!  "moves": [[t, x, y], …], "clicks": [[t, x, y, "#buy", 0.5, 0.25, "dom"], …],
//!  "scrolls": [[t, y], …], "resizes": [[t, width, height], …]}
//! ```
//!
//! # Layout
//! - `validate` — checks of single values: session ids, tags, numbers in a range.
//! - `convert` — a batch into a [`Stream`] (validated, sorted by time) and back.

mod convert;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Stream;

pub use validate::{integer_in, validate_session_id, validate_tag};

/// Bounds a batch must respect.
#[derive(Debug, Clone)]
pub struct WireLimits {
    pub max_events_per_batch: usize,
    pub max_url_len: usize,
    pub max_selector_len: usize,
    pub max_tags: usize,
    /// Largest `t` (ms since the page view started) accepted: a page view lasts at most this.
    pub max_t_ms: u32,
    /// Largest page coordinate accepted on either axis.
    pub max_coordinate_px: i32,
    /// Whether query strings are part of page identity.
    pub keep_query: bool,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            max_events_per_batch: 20_000,
            max_url_len: 2048,
            max_selector_len: 256,
            max_tags: 16,
            max_t_ms: 24 * 3_600_000,
            max_coordinate_px: 200_000,
            keep_query: false,
        }
    }
}

/// A native batch as posted by the tracker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeBatch {
    pub site: String,
    pub session: String,
    pub seq: u64,
    #[serde(default)]
    pub page_view: u32,
    pub page: WirePage,
    #[serde(default)]
    pub moves: Vec<(f64, f64, f64)>,
    #[serde(default)]
    pub clicks: Vec<WireClick>,
    #[serde(default)]
    pub scrolls: Vec<(f64, f64)>,
    #[serde(default)]
    pub resizes: Vec<(f64, f64, f64)>,
}

/// The page view a batch belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePage {
    pub url: String,
    pub viewport: (f64, f64),
    #[serde(default)]
    pub document: Option<(f64, f64)>,
    /// Unix milliseconds.
    pub started_at: i64,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The id the site passed to `heatpipe('identify', id)`. The collector replaces it by its
    /// keyed hash (the page view's `visitor_key`) before anything is logged or stored; the
    /// conversion to a stream never copies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identify: Option<String>,
}

/// `[t, x, y, selector]`, `[t, x, y, selector, x inside 0..1, y inside 0..1]`, or either
/// followed by what the page did in the next second: `[t, x, y, selector, ix|null, iy|null,
/// "none"|"dom"|"url"]` (see [`crate::event::ClickReaction`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireClick {
    Observed(f64, f64, f64, String, Option<f64>, Option<f64>, String),
    WithInside(f64, f64, f64, String, f64, f64),
    Plain(f64, f64, f64, String),
}

/// A valid batch: its site, its stream, and what was corrected on the way (said to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub site: String,
    pub stream: Stream,
    pub warnings: Vec<String>,
}

/// What is wrong with a batch, in words a client developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn invalid(message: impl Into<String>) -> WireError {
    WireError(message.into())
}

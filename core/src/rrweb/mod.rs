//! rrweb recordings as heatpipe stores them for heatmaps: what a collector keeps of a batch of
//! rrweb events, in the viewport terms rrweb records, and the conversion of a whole session's
//! batches into page-coordinate [`crate::event::Stream`]s.
//!
//! rrweb's `x`/`y` are viewport coordinates; page coordinates add the window's scroll offset at
//! that moment, and which page view a batch belongs to is known only from the Meta event that
//! started it, which may be in another batch. A collector therefore converts nothing: it checks
//! each batch on its own ([`parse`]) and stores its pointer events as they were recorded
//! ([`RrwebBatch`], with the Meta, FullSnapshot and scroll events that the conversion needs), so
//! that any batch of any session may reach any collector in any order, after any restart. The
//! processor, which sees a session's batches together, puts them in time order and converts
//! them ([`convert`]).
//!
//! - Meta (type 4: `href`, `width`, `height` of the viewport) starts a page view.
//! - FullSnapshot (type 2) names the document node (`data.node.id`) and the window scroll
//!   (`data.initialOffset`); before any FullSnapshot the document node is 1, as rrweb numbers it.
//! - IncrementalSnapshot (type 3): source 1 MouseMove and 6 TouchMove (`positions[]`, each at
//!   `timestamp + timeOffset`), source 2 MouseInteraction type 2 Click (`x`, `y`, node `id`),
//!   source 3 Scroll (of the document node: other ids are inner scroll containers), source 4
//!   ViewportResize.
//! - Custom (type 5) with tag `heatpipe/page` and payload `{"height": N}` gives the document
//!   height, which rrweb never records.
//!
//! Everything else rrweb emits (DOM mutations, inputs, styles…) is not kept here.
//!
//! # Layout
//! - [`parse`] — one batch of rrweb JSON events, checked, into an [`RrwebBatch`].
//! - [`convert`] — a session's batches, in time order, into page-coordinate streams.
//! - [`lane`] — the `.hpr` objects that hold a sealed log segment's batches.

pub mod convert;
pub mod lane;
pub mod parse;

use serde::{Deserialize, Serialize};

pub use convert::{ConvertedSession, convert_session};
pub use lane::{RRWEB_LANE_KIND, decode_lane, encode_lane};
pub use parse::{RrwebEvent, parse_batch};

/// rrweb numbers the document node 1 when no FullSnapshot says otherwise.
pub const DEFAULT_DOCUMENT_NODE_ID: i64 = 1;

/// One event of a batch that matters to heatmaps, with its time in Unix milliseconds and its
/// coordinates as rrweb recorded them (viewport pixels).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PointerEvent {
    /// A page view starts: its normalized URL and viewport.
    Meta {
        at_ms: i64,
        url: String,
        width_px: u32,
        height_px: u32,
    },
    /// The document was recorded whole: its node id and the window's scroll then, if given.
    Snapshot {
        at_ms: i64,
        document_node: Option<i64>,
        scroll: Option<(i64, i64)>,
    },
    /// The pointer (or a touch) was at (`x`, `y`) of the viewport.
    Move { at_ms: i64, x: i64, y: i64 },
    /// A click at (`x`, `y`) of the viewport on node `node` (-1 when rrweb named none).
    Click {
        at_ms: i64,
        x: i64,
        y: i64,
        node: i64,
    },
    /// Node `node` scrolled to (`x`, `y`): the window when it is the document node.
    Scroll {
        at_ms: i64,
        node: i64,
        x: i64,
        y: i64,
    },
    /// The viewport was resized.
    Resize {
        at_ms: i64,
        width_px: u32,
        height_px: u32,
    },
    /// The page told its document's size (heatpipe's custom event).
    PageSize {
        at_ms: i64,
        width_px: Option<u32>,
        height_px: u32,
    },
}

impl PointerEvent {
    /// Returns when the event happened, in Unix milliseconds.
    pub fn at_ms(&self) -> i64 {
        match self {
            PointerEvent::Meta { at_ms, .. }
            | PointerEvent::Snapshot { at_ms, .. }
            | PointerEvent::Move { at_ms, .. }
            | PointerEvent::Click { at_ms, .. }
            | PointerEvent::Scroll { at_ms, .. }
            | PointerEvent::Resize { at_ms, .. }
            | PointerEvent::PageSize { at_ms, .. } => *at_ms,
        }
    }

    /// Returns whether the event adds to a heatmap by itself (a move, click, scroll or resize),
    /// rather than only telling the conversion where the page is.
    pub fn is_recorded_event(&self) -> bool {
        matches!(
            self,
            PointerEvent::Move { .. }
                | PointerEvent::Click { .. }
                | PointerEvent::Scroll { .. }
                | PointerEvent::Resize { .. }
        )
    }
}

/// What a collector stores of one rrweb batch of one session: its pointer events in the order
/// rrweb emitted them, nothing converted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RrwebBatch {
    pub session_id: String,
    pub events: Vec<PointerEvent>,
}

impl RrwebBatch {
    /// Returns the time of the batch's earliest event (Unix ms), or None if it has none. The
    /// collector files a batch under that time's date and hour.
    pub fn first_at_ms(&self) -> Option<i64> {
        self.events.iter().map(PointerEvent::at_ms).min()
    }

    /// Returns how many events the batch holds that add to a heatmap by themselves.
    pub fn num_recorded_events(&self) -> usize {
        self.events
            .iter()
            .filter(|event| event.is_recorded_event())
            .count()
    }
}

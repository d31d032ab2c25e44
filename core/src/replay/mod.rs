//! DOM recordings for session replay: rrweb events, masked by the collector, kept in the replay
//! lane `replay/{site}/{date}/…` beside the pointer chunks, grouped by session so that one
//! session is read with a few ranged GETs.
//!
//! Privacy is enforced twice: the browser's recorder masks, and the collector masks again,
//! whatever the client sent (a site may run its own rrweb with masking off): [`mask::mask_batch`]
//! turns one batch of rrweb events into the events kept, by an allow-list (docs/privacy.md lists
//! it exactly). A collector then logs the batch as [`ReplayBatch`]: its events in the order
//! rrweb emitted them, each as the masked JSON text the player will be given, with its
//! timestamp. Nothing about a batch depends on another batch, so any batch may reach any
//! collector in any order.
//!
//! # Layout
//! - [`mask`] — one batch of rrweb events masked: events, nodes, texts, attributes, URLs.
//! - [`selector`] — the small CSS selector matcher for a site's public elements.
//! - [`lane`] — the `.hpd` objects: one block per session, found through the object's header.
//! - [`compact`] — compacted objects, whose blocks share a dictionary of the day's snapshots.
//! - [`erase`] — an object rewritten without some sessions (erasure).
//! - [`index`] — the day's index of which blocks hold each session, written by the processor.
//! - [`merge`] — a session's blocks back into one recording, in time order.

pub mod compact;
pub mod erase;
pub mod index;
pub mod lane;
pub mod mask;
pub mod merge;
pub mod selector;

pub use mask::{MaskReport, MaskRules, mask_batch};
pub use selector::SelectorError;

use serde::{Deserialize, Serialize};

/// rrweb's event type of a Meta event (a page view starts: `href`, `width`, `height`).
pub const META_EVENT: u8 = 4;

/// One rrweb event as stored: when it happened (Unix ms), its rrweb type, and its masked JSON
/// text (the whole event, as the player is given it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayEvent {
    pub at_ms: i64,
    pub kind: u8,
    pub json: String,
}

/// What a collector logs of one recording batch of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayBatch {
    pub session_id: String,
    pub events: Vec<ReplayEvent>,
}

impl ReplayBatch {
    /// Returns the time of the batch's earliest event (Unix ms), or None if it has none. The
    /// uploader files a batch under that time's date.
    pub fn first_at_ms(&self) -> Option<i64> {
        self.events.iter().map(|event| event.at_ms).min()
    }
}

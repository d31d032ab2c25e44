//! The `.hps` session index: one summary per session of a day, with where its blocks live so a
//! replay fetches only that session's bytes.

use serde::{Deserialize, Serialize};

use crate::chunk::FormatError;
use crate::event::DeviceClass;
use crate::frame::{FrameKind, decode_frame, encode_frame};

const SESSION_INDEX_KIND: FrameKind = FrameKind {
    magic: *b"HPSI",
    version: 2,
    name: "session index",
};

/// A block holding (some of) a session's batches inside one chunk: what a ranged GET needs.
/// The block may hold other sessions too; a reader keeps the streams of its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    pub chunk_key: String,
    /// Offset of the compressed block from the start of the chunk object.
    pub offset: u64,
    pub compressed_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
    pub num_streams: u32,
}

impl BlockRef {
    /// Returns what decoding this block needs.
    pub fn spec(&self) -> crate::chunk::BlockSpec {
        crate::chunk::BlockSpec {
            compressed_len: self.compressed_len,
            raw_len: self.raw_len,
            crc32: self.crc32,
            num_streams: self.num_streams as usize,
        }
    }

    /// Returns the byte range of the block within its chunk.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + u64::from(self.compressed_len)
    }
}

/// One page view of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageViewSummary {
    pub index: u32,
    pub url: String,
    pub key: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub frustration: Frustration,
}

/// Frustration signals counted over a page view or a session (see [`crate::signals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frustration {
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    /// Page views with excessive scrolling.
    pub excessive_scrolls: u64,
    /// Page views left quickly for the page before.
    pub quick_backs: u64,
}

impl Frustration {
    /// The names accepted by [`Frustration::count`], as the session list's filter takes them.
    pub const KINDS: [&'static str; 4] = ["rage", "dead", "excessive_scroll", "quick_back"];

    /// Returns the count of the signal called `kind`, or None for an unknown name.
    pub fn count(&self, kind: &str) -> Option<u64> {
        match kind {
            "rage" => Some(self.rage_clicks),
            "dead" => Some(self.dead_clicks),
            "excessive_scroll" => Some(self.excessive_scrolls),
            "quick_back" => Some(self.quick_backs),
            _ => None,
        }
    }

    /// Returns whether any signal was seen.
    pub fn any(&self) -> bool {
        self.rage_clicks + self.dead_clicks + self.excessive_scrolls + self.quick_backs > 0
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Frustration) {
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        self.excessive_scrolls += other.excessive_scrolls;
        self.quick_backs += other.quick_backs;
    }
}

/// What the session list shows of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub device: DeviceClass,
    pub num_clicks: u64,
    pub num_moves: u64,
    pub num_scrolls: u64,
    /// Tags of the session's first page view (`variant=B`, `visitor=returning`…).
    pub tags: Vec<(String, String)>,
    pub frustration: Frustration,
    pub page_views: Vec<PageViewSummary>,
    pub blocks: Vec<BlockRef>,
}

/// A day's sessions, sorted by start time then id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIndex {
    pub sessions: Vec<SessionSummary>,
}

impl SessionIndex {
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        encode_frame(SESSION_INDEX_KIND, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        decode_frame(SESSION_INDEX_KIND, bytes)
    }
}

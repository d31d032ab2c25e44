//! The day's page index (`agg/{site}/{date}/pages.hpa`): one line per page seen, with its totals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FormatError;
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};

const PAGE_INDEX_KIND: FrameKind = FrameKind {
    magic: *b"HPAI",
    version: 1,
    oldest_version: 1,
    name: "page index",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// One line of the day's page index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSummary {
    pub url: String,
    pub key: String,
    pub views: u64,
    pub sessions: u64,
    pub clicks: u64,
    pub moves: u64,
}

/// The pages seen on a day, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageIndex {
    pub pages: Vec<PageSummary>,
}

impl PageIndex {
    /// Adds `other`'s pages into this index, keeping it sorted by key.
    pub fn merge(&mut self, other: &PageIndex) {
        let mut by_key: BTreeMap<String, PageSummary> = self
            .pages
            .drain(..)
            .map(|page| (page.key.clone(), page))
            .collect();
        for page in &other.pages {
            let entry = by_key
                .entry(page.key.clone())
                .or_insert_with(|| PageSummary {
                    url: page.url.clone(),
                    key: page.key.clone(),
                    ..PageSummary::default()
                });
            entry.views += page.views;
            entry.sessions += page.sessions;
            entry.clicks += page.clicks;
            entry.moves += page.moves;
        }
        self.pages = by_key.into_values().collect();
    }

    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        encode_frame(PAGE_INDEX_KIND, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        decode_frame(PAGE_INDEX_KIND, bytes)
    }
}

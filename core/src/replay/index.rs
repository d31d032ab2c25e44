//! The replay lane's day index, `replay/{site}/{date}/index.hpi`: for each session, the blocks
//! that hold its recording, in the objects of that day. The processor writes it from the
//! objects' headers; the read side finds a session in it and fetches only that session's blocks.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::lane::{LaneHeader, Span};
use crate::error::FormatError;
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};

/// The day index's frame kind.
pub const REPLAY_INDEX_KIND: FrameKind = FrameKind {
    magic: *b"HPDI",
    version: 1,
    oldest_version: 1,
    name: "replay index",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// One block of a session: which object of [`ReplayIndex::objects`], where, and what it spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLocation {
    pub object: u32,
    pub offset: u64,
    pub len: u32,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    pub num_events: u32,
    /// The dictionary the block is compressed against, in the same object (a compacted one).
    pub dictionary: Option<Span>,
}

/// Where one session's recording lies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecording {
    pub session_id: String,
    /// In time order of their first event.
    pub blocks: Vec<BlockLocation>,
}

impl SessionRecording {
    /// Returns how many events the session's blocks hold.
    pub fn num_events(&self) -> u64 {
        self.blocks.iter().map(|b| u64::from(b.num_events)).sum()
    }
}

/// The day index of one site's replay lane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayIndex {
    /// Keys of the objects the blocks lie in, sorted.
    pub objects: Vec<String>,
    /// Sorted by session id.
    pub sessions: Vec<SessionRecording>,
}

impl ReplayIndex {
    /// Builds the index of a day from its objects' headers (by key). Objects another object
    /// consumed (a compaction's inputs not yet deleted) are left out, so no event is indexed
    /// twice.
    pub fn from_headers(headers: &BTreeMap<String, LaneHeader>) -> ReplayIndex {
        let consumed: BTreeSet<&str> = headers
            .values()
            .flat_map(|header| header.consumed.iter().map(String::as_str))
            .collect();
        let live: Vec<(&String, &LaneHeader)> = headers
            .iter()
            .filter(|(key, _)| !consumed.contains(key.as_str()))
            .collect();
        let mut sessions: BTreeMap<&str, Vec<BlockLocation>> = BTreeMap::new();
        for (object, (_, header)) in live.iter().enumerate() {
            for block in &header.blocks {
                sessions
                    .entry(block.session_id.as_str())
                    .or_default()
                    .push(BlockLocation {
                        object: object as u32,
                        offset: block.offset,
                        len: block.len,
                        first_at_ms: block.first_at_ms,
                        last_at_ms: block.last_at_ms,
                        num_events: block.num_events,
                        dictionary: header.dictionary,
                    });
            }
        }
        ReplayIndex {
            objects: live.iter().map(|(key, _)| (*key).clone()).collect(),
            sessions: sessions
                .into_iter()
                .map(|(session_id, mut blocks)| {
                    blocks.sort_by_key(|b| (b.first_at_ms, b.object, b.offset));
                    SessionRecording {
                        session_id: session_id.to_owned(),
                        blocks,
                    }
                })
                .collect(),
        }
    }

    /// Returns the recording of `session_id`, if the day has one.
    pub fn session(&self, session_id: &str) -> Option<&SessionRecording> {
        self.sessions
            .binary_search_by(|s| s.session_id.as_str().cmp(session_id))
            .ok()
            .map(|at| &self.sessions[at])
    }

    /// Returns the key of the object a block lies in.
    pub fn object_of(&self, block: &BlockLocation) -> Option<&str> {
        self.objects.get(block.object as usize).map(String::as_str)
    }
}

/// Encodes a day index.
pub fn encode_index(index: &ReplayIndex) -> Result<Vec<u8>, FormatError> {
    encode_frame(REPLAY_INDEX_KIND, index)
}

/// Decodes a day index; any damage is an error, never a panic.
pub fn decode_index(bytes: &[u8]) -> Result<ReplayIndex, FormatError> {
    let index: ReplayIndex = decode_frame(REPLAY_INDEX_KIND, bytes)?;
    let in_range = index
        .sessions
        .iter()
        .flat_map(|s| &s.blocks)
        .all(|b| (b.object as usize) < index.objects.len());
    if !in_range {
        return Err(FormatError::Header(
            "replay index names an object it does not list".into(),
        ));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::lane::BlockEntry;

    fn entry(session: &str, first_at_ms: i64, offset: u64) -> BlockEntry {
        BlockEntry {
            session_id: session.into(),
            first_at_ms,
            last_at_ms: first_at_ms + 5,
            num_events: 2,
            offset,
            len: 10,
        }
    }

    #[test]
    fn a_compactions_inputs_are_left_out_and_blocks_come_in_time_order() {
        let mut headers = BTreeMap::new();
        headers.insert(
            "r/c1-1.hpd".to_owned(),
            LaneHeader {
                consumed: vec![],
                blocks: vec![entry("a", 50, 8), entry("b", 10, 18)],
                dictionary: None,
            },
        );
        headers.insert(
            "r/c2-1.hpd".to_owned(),
            LaneHeader {
                consumed: vec![],
                blocks: vec![entry("a", 20, 8)],
                dictionary: None,
            },
        );
        headers.insert(
            "r/c2-0.hpd".to_owned(),
            LaneHeader {
                consumed: vec![],
                blocks: vec![entry("a", 1, 8)],
                dictionary: None,
            },
        );
        headers.insert(
            "r/day-x.hpd".to_owned(),
            LaneHeader {
                consumed: vec!["r/c2-0.hpd".into()],
                blocks: vec![entry("a", 1, 100)],
                dictionary: None,
            },
        );
        let index = ReplayIndex::from_headers(&headers);
        assert_eq!(index.objects, ["r/c1-1.hpd", "r/c2-1.hpd", "r/day-x.hpd"]);
        let a = index.session("a").expect("a");
        let places: Vec<(&str, i64)> = a
            .blocks
            .iter()
            .map(|b| (index.object_of(b).expect("listed"), b.first_at_ms))
            .collect();
        assert_eq!(
            places,
            [("r/day-x.hpd", 1), ("r/c2-1.hpd", 20), ("r/c1-1.hpd", 50)]
        );
        assert_eq!(a.num_events(), 6);
        assert!(index.session("zzz").is_none());
        let bytes = encode_index(&index).expect("encode");
        assert_eq!(decode_index(&bytes).expect("decode"), index);
        assert!(decode_index(&bytes[..bytes.len() - 1]).is_err());
    }
}

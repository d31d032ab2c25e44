//! The chunk header as version 1 stored it (with an event count per batch), read and turned into
//! today's [`ChunkHeader`]; bincode is positional, so the old shape needs types of its own.

use serde::Deserialize;

use super::{BlockEntry, ChunkHeader, SessionEntry, StreamKey};

#[derive(Deserialize)]
pub(super) struct ChunkHeaderV1 {
    num_streams: u32,
    num_events: u64,
    first_started_at_ms: i64,
    blocks: Vec<BlockEntryV1>,
}

#[derive(Deserialize)]
struct BlockEntryV1 {
    offset: u64,
    compressed_len: u32,
    raw_len: u32,
    crc32: u32,
    sessions: Vec<SessionEntryV1>,
}

#[derive(Deserialize)]
struct SessionEntryV1 {
    session_id: String,
    streams: Vec<StreamKeyV1>,
}

#[derive(Deserialize)]
struct StreamKeyV1 {
    batch_seq: u64,
    page_view_index: u32,
    /// Read to keep bincode's place; nothing uses it.
    #[allow(dead_code)]
    num_events: u32,
}

impl From<ChunkHeaderV1> for ChunkHeader {
    fn from(v1: ChunkHeaderV1) -> Self {
        ChunkHeader {
            num_streams: v1.num_streams,
            num_events: v1.num_events,
            first_started_at_ms: v1.first_started_at_ms,
            blocks: v1
                .blocks
                .into_iter()
                .map(|block| BlockEntry {
                    offset: block.offset,
                    compressed_len: block.compressed_len,
                    raw_len: block.raw_len,
                    crc32: block.crc32,
                    sessions: block
                        .sessions
                        .into_iter()
                        .map(|session| SessionEntry {
                            session_id: session.session_id,
                            streams: session
                                .streams
                                .into_iter()
                                .map(|key| StreamKey {
                                    batch_seq: key.batch_seq,
                                    page_view_index: key.page_view_index,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

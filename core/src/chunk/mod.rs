//! The `.hpc` chunk format: a day-partitioned file of event streams in compressed columnar blocks.
//!
//! ```text
//! "HPCK" | version u16 LE | header_len u32 LE | header crc32 u32 LE | header
//! | block 0 | block 1 | …
//! ```
//! The header is bincode, compressed as one zstd frame since version 2 (version 1 stored it
//! plain, with an event count per batch: 11% of a chunk of small batches). `header_len` and the
//! checksum cover the bytes as stored.
//!
//! Sessions are packed whole into blocks of about [`TARGET_BLOCK_RAW_BYTES`], so zstd sees
//! enough data to compress well. The header lists every block with its offset, sizes, checksum
//! and the sessions and batches inside, so a replay fetches one session's block with a ranged
//! GET and a processor can find duplicate batches without decompressing anything. Inside a
//! block, every field is a column of zig-zag varints, each value stored as its miss from a
//! prediction, compressed as its own zstd frame (see [`block`]).
//!
//! # Layout
//! - [`block`] — one block: a column per field, each its own zstd frame.
//! - [`encode`] — streams → chunk bytes.
//! - [`write`] — a block's streams → its columns.
//! - [`read`] — a block's columns → its streams, borrowed, with no allocation per event.
//! - [`decode`] — chunk bytes → header, blocks, streams; errors on any damage, never panics.
//! - `predict` — the predictors the encoder and decoder share; `header_v1` — version 1's header.

pub mod block;
pub mod decode;
pub mod encode;
mod header_v1;
mod predict;
pub mod read;
pub mod write;

use serde::{Deserialize, Serialize};

use crate::error::FormatError;

pub use decode::{
    BlockSpec, ChunkIndex, decode_block, decode_chunk, decode_header, with_block_streams,
};
pub use encode::{DEFAULT_ZSTD_LEVEL, encode_chunk};
pub use read::{BlockStreams, SessionNames};

/// The first four bytes of every chunk.
pub const MAGIC: [u8; 4] = *b"HPCK";
/// The format version this build writes; it reads every version up to this one. Version 3's
/// blocks (layout 3) name their sessions only through the header; version 4's (layout 4) add
/// visitor keys and click reactions.
pub const VERSION: u16 = 4;
/// The first version whose header is zstd-compressed.
pub const COMPRESSED_HEADER_VERSION: u16 = 2;
/// Magic, version, header length and header checksum.
pub const PREAMBLE_LEN: usize = 14;
/// Largest header a decoder accepts, as stored and decompressed.
pub const MAX_HEADER_BYTES: usize = 16 << 20;
/// Largest decompressed block a decoder accepts.
pub const MAX_BLOCK_RAW_BYTES: usize = 64 << 20;
/// A block is closed once its sessions take this many raw bytes (a single larger session still
/// gets a block of its own).
pub const TARGET_BLOCK_RAW_BYTES: usize = 256 << 10;

/// A chunk's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkHeader {
    pub num_streams: u32,
    pub num_events: u64,
    /// Earliest page view start among the streams, Unix ms.
    pub first_started_at_ms: i64,
    pub blocks: Vec<BlockEntry>,
}

/// Where one block lives in the chunk, and which sessions it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEntry {
    /// Offset of the compressed block from the end of the header.
    pub offset: u64,
    pub compressed_len: u32,
    pub raw_len: u32,
    /// CRC-32 of the compressed bytes.
    pub crc32: u32,
    /// The sessions in the block, in block order.
    pub sessions: Vec<SessionEntry>,
}

impl BlockEntry {
    /// Returns how many streams the block holds.
    pub fn num_streams(&self) -> usize {
        self.sessions.iter().map(|s| s.streams.len()).sum()
    }
}

/// One session's batches within a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEntry {
    pub session_id: String,
    /// The session's batches, in block order.
    pub streams: Vec<StreamKey>,
}

/// Identifies one stored batch without decoding it. (Version 1 also stored each batch's event
/// count here; nothing read it, and it was a third of a compressed header.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamKey {
    pub batch_seq: u64,
    pub page_view_index: u32,
}

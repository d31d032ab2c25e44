//! The small types every part of the processor shares: the hash map its maps use, where a
//! session's batches lie, and the key a session is looked up by. A leaf: it imports nothing
//! from the crate.

use std::collections::HashMap;
use std::sync::Arc;

use heatpipe_core::session::BlockRef;
use serde::{Deserialize, Serialize};

/// The partial's maps: hashed with foldhash (randomly seeded per process), much faster than
/// SipHash on these short keys.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A block holding some of a session's batches, with its chunk's key shared by every session in
/// the chunk. The session index numbers the chunks when the day is finalized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockAt {
    pub chunk_key: Arc<str>,
    /// Offset of the compressed block from the start of the chunk object.
    pub offset: u64,
    pub compressed_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
    pub num_streams: u32,
    /// The session's position among the block's sessions.
    pub session: u32,
}

impl BlockAt {
    /// Returns the reference as the session index stores it, its chunk named by `chunk`.
    pub(crate) fn numbered(&self, chunk: u32) -> BlockRef {
        BlockRef {
            chunk,
            offset: self.offset,
            compressed_len: self.compressed_len,
            raw_len: self.raw_len,
            crc32: self.crc32,
            num_streams: self.num_streams,
            session: self.session,
        }
    }
}

/// The key of a session in [`DayPartial::sessions`]: a 128-bit hash of its id, so that looking
/// a session up allocates nothing.
///
/// [`DayPartial::sessions`]: crate::aggregate::accumulate::DayPartial::sessions
pub fn session_key(session_id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(session_id.as_bytes())
}

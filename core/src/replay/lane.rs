//! The `.hpd` objects of the replay lane, `replay/{site}/{date}/{name}.hpd`: the recording
//! batches of one sealed log segment for one site and date (written by the uploader), or a
//! whole day's sessions compacted into one object (written by the processor).
//!
//! ```text
//! "HPDR" | header length u32 LE | header frame | block frame | block frame | …
//! ```
//! The header (a frame, see [`crate::frame`]) lists one [`BlockEntry`] per session — where its
//! block lies and the time it spans — and the objects this one replaces. Each block is a frame
//! of the session's events in time order. A reader fetches the header with one ranged GET and
//! a session's block with another, never the whole object.

use serde::{Deserialize, Serialize};

use super::ReplayEvent;
use crate::error::FormatError;
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame, frame_from_raw};

/// The first bytes of every replay lane object.
pub const LANE_MAGIC: [u8; 4] = *b"HPDR";
/// Bytes before the header frame: the magic and the header's length.
pub const LANE_PREAMBLE_LEN: usize = 8;
/// Largest header accepted (about a million sessions in one object).
pub const MAX_HEADER_BYTES: usize = 64 << 20;

/// The header frame of a replay lane object.
pub const LANE_HEADER_KIND: FrameKind = FrameKind {
    magic: *b"HPDH",
    version: 1,
    oldest_version: 1,
    name: "replay lane header",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// A block frame: one session's events. The level is chosen by the writer.
pub const fn block_kind(zstd_level: i32) -> FrameKind {
    FrameKind {
        magic: *b"HPDB",
        version: 1,
        oldest_version: 1,
        name: "replay block",
        zstd_level,
    }
}

/// Where one session's block lies in an object, and what it spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEntry {
    pub session_id: String,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    pub num_events: u32,
    /// From the start of the object once read ([`decode_header`]); stored from the end of the
    /// header.
    pub offset: u64,
    pub len: u32,
}

/// Where some bytes lie in an object: from its start once read ([`decode_header`]), from the
/// end of the header as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub offset: u64,
    pub len: u32,
}

/// The header of a replay lane object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneHeader {
    /// Objects of the same day whose sessions this object holds in full (a compaction's
    /// inputs): readers ignore them, and the compaction deletes them once it is indexed.
    pub consumed: Vec<String>,
    /// Sorted by session id.
    pub blocks: Vec<BlockEntry>,
    /// The dictionary the blocks of a compacted object are compressed against (see
    /// [`super::compact`]), if any.
    pub dictionary: Option<Span>,
}

/// One session's events as a writer gives them (any order; sorted when encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEvents {
    pub session_id: String,
    pub events: Vec<ReplayEvent>,
}

/// Encodes the sessions as one object (blocks compressed at `zstd_level`, in session order);
/// equal inputs give equal bytes. Sessions without events are left out.
pub fn encode_lane(
    mut sessions: Vec<SessionEvents>,
    consumed: Vec<String>,
    zstd_level: i32,
) -> Result<Vec<u8>, FormatError> {
    use rayon::prelude::*;
    prepare_sessions(&mut sessions);
    let blocks: Vec<Vec<u8>> = sessions
        .par_iter()
        .map(|session| encode_block(&session.events, zstd_level))
        .collect::<Result<_, _>>()?;
    assemble(entries_of(&sessions), &blocks, consumed, None)
}

/// Leaves out sessions without events, sorts the rest by id and each one's events by time
/// (stably: events of the same millisecond keep the order rrweb emitted them in).
pub(super) fn prepare_sessions(sessions: &mut Vec<SessionEvents>) {
    sessions.retain(|session| !session.events.is_empty());
    sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    for session in sessions.iter_mut() {
        session.events.sort_by_key(|event| event.at_ms);
    }
}

/// The entries of prepared sessions, their places still to be set by [`assemble`].
pub(super) fn entries_of(sessions: &[SessionEvents]) -> Vec<BlockEntry> {
    sessions
        .iter()
        .map(|session| BlockEntry {
            session_id: session.session_id.clone(),
            first_at_ms: session.events.first().map_or(0, |e| e.at_ms),
            last_at_ms: session.events.last().map_or(0, |e| e.at_ms),
            num_events: u32::try_from(session.events.len()).unwrap_or(u32::MAX),
            offset: 0,
            len: 0,
        })
        .collect()
}

/// Writes an object of `blocks` (their entries' offsets and lengths are set here, in order),
/// after the `dictionary` frame if there is one.
pub(super) fn assemble<B: AsRef<[u8]>>(
    mut entries: Vec<BlockEntry>,
    blocks: &[B],
    consumed: Vec<String>,
    dictionary: Option<&[u8]>,
) -> Result<Vec<u8>, FormatError> {
    let too_large = |len: usize| FormatError::TooLarge {
        what: "replay block",
        size_bytes: len as u64,
    };
    let dictionary_span = dictionary
        .map(|bytes| {
            let len = u32::try_from(bytes.len()).map_err(|_| too_large(bytes.len()))?;
            Ok::<_, FormatError>(Span { offset: 0, len })
        })
        .transpose()?;
    let mut offset = dictionary_span.map_or(0, |span| u64::from(span.len));
    for (entry, block) in entries.iter_mut().zip(blocks) {
        let block = block.as_ref();
        entry.len = u32::try_from(block.len()).map_err(|_| too_large(block.len()))?;
        // Written from the end of the header (whose compressed size depends on the offsets);
        // made absolute when the header is read.
        entry.offset = offset;
        offset += u64::from(entry.len);
    }
    let header = encode_frame(
        LANE_HEADER_KIND,
        &LaneHeader {
            consumed,
            blocks: entries,
            dictionary: dictionary_span,
        },
    )?;
    let mut out = Vec::with_capacity(LANE_PREAMBLE_LEN + header.len() + offset as usize);
    out.extend_from_slice(&LANE_MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(dictionary.unwrap_or_default());
    for block in blocks {
        out.extend_from_slice(block.as_ref());
    }
    Ok(out)
}

/// Encodes one session's events (already in order) as a block frame.
pub fn encode_block(events: &[ReplayEvent], zstd_level: i32) -> Result<Vec<u8>, FormatError> {
    let raw = bincode::serde::encode_to_vec(events, crate::frame::bincode_config())
        .map_err(|err| FormatError::Encode(err.to_string()))?;
    frame_from_raw(block_kind(zstd_level), &raw)
}

/// Returns how many bytes from the object's start hold its header, from the object's first
/// [`LANE_PREAMBLE_LEN`] bytes (or more).
pub fn header_span(prefix: &[u8]) -> Result<usize, FormatError> {
    let preamble = prefix
        .get(..LANE_PREAMBLE_LEN)
        .ok_or(FormatError::Truncated {
            what: "replay lane preamble",
        })?;
    if preamble[..4] != LANE_MAGIC {
        return Err(FormatError::BadMagic {
            expected: "replay lane object",
        });
    }
    let len = u32::from_le_bytes([preamble[4], preamble[5], preamble[6], preamble[7]]) as usize;
    if len > MAX_HEADER_BYTES {
        return Err(FormatError::TooLarge {
            what: "replay lane header",
            size_bytes: len as u64,
        });
    }
    Ok(LANE_PREAMBLE_LEN + len)
}

/// Decodes an object's header from its first [`header_span`] bytes (or more), with every
/// block's offset from the start of the object.
pub fn decode_header(prefix: &[u8]) -> Result<LaneHeader, FormatError> {
    let span = header_span(prefix)?;
    let frame = prefix
        .get(LANE_PREAMBLE_LEN..span)
        .ok_or(FormatError::Truncated {
            what: "replay lane header",
        })?;
    let mut header: LaneHeader = decode_frame(LANE_HEADER_KIND, frame)?;
    for block in &mut header.blocks {
        block.offset = block.offset.saturating_add(span as u64);
    }
    if let Some(dictionary) = &mut header.dictionary {
        dictionary.offset = dictionary.offset.saturating_add(span as u64);
    }
    Ok(header)
}

/// Decodes one block (the bytes `entry` names); any damage is an error, never a panic.
pub fn decode_block(bytes: &[u8]) -> Result<Vec<ReplayEvent>, FormatError> {
    // The level is not stored; any level's frames decode alike.
    decode_frame(block_kind(FRAME_ZSTD_LEVEL), bytes)
}

/// Returns the `len` bytes of a block at `offset` within a whole object.
pub fn block_bytes(object: &[u8], offset: u64, len: u32) -> Result<&[u8], FormatError> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = start.saturating_add(len as usize);
    object.get(start..end).ok_or(FormatError::Truncated {
        what: "replay block",
    })
}

#[cfg(test)]
mod tests;

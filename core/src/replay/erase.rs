//! Erasure in the replay lane: an object rewritten without some sessions' blocks. A plain
//! object keeps the other blocks byte for byte; a compacted one is compacted again, since its
//! shared dictionary may hold an erased session's snapshot.

use std::collections::BTreeSet;

use super::compact::{decode_any_block, decode_dictionary, encode_compacted};
use super::lane::{BlockEntry, SessionEvents, assemble, block_bytes, decode_header};
use crate::error::FormatError;

/// What leaving sessions out of an object gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Without {
    /// The object holds none of them.
    Untouched,
    /// The object without their blocks (the others copied as they are), and how many went.
    Rewritten { bytes: Vec<u8>, removed: u64 },
    /// The object held nothing else.
    Emptied { removed: u64 },
}

/// Returns `object` without the blocks of `sessions` (for erasure). The consumed list is kept;
/// so are the other blocks, byte for byte, unless the object is compacted (then they are
/// compacted again, against a new dictionary).
pub fn without_sessions(
    object: &[u8],
    sessions: &BTreeSet<String>,
) -> Result<Without, FormatError> {
    let header = decode_header(object)?;
    let (gone, kept): (Vec<BlockEntry>, Vec<BlockEntry>) = header
        .blocks
        .into_iter()
        .partition(|block| sessions.contains(&block.session_id));
    let removed = gone.len() as u64;
    if removed == 0 {
        return Ok(Without::Untouched);
    }
    if kept.is_empty() {
        return Ok(Without::Emptied { removed });
    }
    if let Some(span) = header.dictionary {
        // The dictionary may hold an erased session's snapshot: the others are compacted
        // again, against a dictionary made without it.
        let dictionary = decode_dictionary(block_bytes(object, span.offset, span.len)?)?;
        let sessions = kept
            .iter()
            .map(|entry| {
                let bytes = block_bytes(object, entry.offset, entry.len)?;
                Ok(SessionEvents {
                    session_id: entry.session_id.clone(),
                    events: decode_any_block(bytes, Some(&dictionary))?,
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        let bytes = encode_compacted(sessions, header.consumed)?;
        return Ok(Without::Rewritten { bytes, removed });
    }
    let blocks = kept
        .iter()
        .map(|entry| block_bytes(object, entry.offset, entry.len))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = assemble(kept.clone(), &blocks, header.consumed, None)?;
    Ok(Without::Rewritten { bytes, removed })
}

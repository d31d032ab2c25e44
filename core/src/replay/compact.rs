//! Compacted objects: a day's sessions in one object (written by the nightly processing) whose
//! blocks are compressed against one dictionary kept in the object. Sessions of the same page
//! repeat its full snapshot — the DOM and every stylesheet rrweb inlined — so the dictionary is
//! made of one full snapshot per page (the first session's), and each session's block keeps
//! little more than what its visitor did. This is rrweb's own storage advice (compress whole
//! sessions on the server, share repeated stylesheets between sessions), taken one step further.
//!
//! A block compressed against the dictionary is a frame of [`SHARED_BLOCK_KIND`]; reading it
//! takes the dictionary frame too (one more ranged GET, shared by every session of the object).

use rayon::prelude::*;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::EncoderDictionary;

use super::lane::{SessionEvents, assemble, decode_block, entries_of, prepare_sessions};
use super::{META_EVENT, ReplayEvent};
use crate::error::FormatError;
use crate::frame::{FrameKind, bincode_config, frame_from_compressed, frame_from_raw, open_frame};

/// zstd level of compacted objects: recordings are written once and read rarely.
pub const COMPACTED_ZSTD_LEVEL: i32 = 19;
/// The dictionary holds at most this much (the snapshots of the day's first pages).
pub const MAX_DICTIONARY_BYTES: usize = 4 << 20;
/// rrweb's event type of a full snapshot.
const FULL_SNAPSHOT_EVENT: u8 = 2;

/// The dictionary frame of a compacted object.
pub const DICTIONARY_KIND: FrameKind = FrameKind {
    magic: *b"HPDX",
    version: 1,
    oldest_version: 1,
    name: "replay dictionary",
    zstd_level: COMPACTED_ZSTD_LEVEL,
};

/// A session's block compressed against its object's dictionary.
pub const SHARED_BLOCK_KIND: FrameKind = FrameKind {
    magic: *b"HPDS",
    version: 1,
    oldest_version: 1,
    name: "replay block (shared dictionary)",
    zstd_level: COMPACTED_ZSTD_LEVEL,
};

/// Returns the dictionary of `sessions` (prepared: sorted, events in order): the first full
/// snapshot recorded of each page, by the URL of the Meta event before it, up to
/// [`MAX_DICTIONARY_BYTES`].
pub fn build_dictionary(sessions: &[SessionEvents]) -> Vec<u8> {
    let mut dictionary = Vec::new();
    let mut pages = std::collections::BTreeSet::new();
    for session in sessions {
        let mut page = String::new();
        for event in &session.events {
            if event.kind == META_EVENT {
                page = meta_href(&event.json);
            } else if event.kind == FULL_SNAPSHOT_EVENT
                && dictionary.len() + event.json.len() <= MAX_DICTIONARY_BYTES
                && pages.insert(page.clone())
            {
                dictionary.extend_from_slice(event.json.as_bytes());
            }
        }
    }
    dictionary
}

/// The `href` of a Meta event's JSON, or "" when it has none.
fn meta_href(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|event| event["data"]["href"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Encodes `sessions` as one compacted object consuming `consumed`: blocks compressed hard
/// against a dictionary of the sessions' first full snapshots (none when they have none).
pub fn encode_compacted(
    mut sessions: Vec<SessionEvents>,
    consumed: Vec<String>,
) -> Result<Vec<u8>, FormatError> {
    prepare_sessions(&mut sessions);
    let dictionary = build_dictionary(&sessions);
    if dictionary.is_empty() {
        return super::lane::encode_lane(sessions, consumed, COMPACTED_ZSTD_LEVEL);
    }
    let prepared = EncoderDictionary::copy(&dictionary, COMPACTED_ZSTD_LEVEL);
    let blocks: Vec<Vec<u8>> = sessions
        .par_iter()
        .map(|session| encode_shared_block(&session.events, &prepared))
        .collect::<Result<_, _>>()?;
    let dictionary_frame = frame_from_raw(DICTIONARY_KIND, &dictionary)?;
    assemble(
        entries_of(&sessions),
        &blocks,
        consumed,
        Some(&dictionary_frame),
    )
}

fn encode_shared_block(
    events: &[ReplayEvent],
    dictionary: &EncoderDictionary<'_>,
) -> Result<Vec<u8>, FormatError> {
    let zstd_error = |err: std::io::Error| FormatError::Zstd(err.to_string());
    let raw = bincode::serde::encode_to_vec(events, bincode_config())
        .map_err(|err| FormatError::Encode(err.to_string()))?;
    let raw_len = u32::try_from(raw.len()).map_err(|_| FormatError::TooLarge {
        what: "replay block",
        size_bytes: raw.len() as u64,
    })?;
    let body = Compressor::with_prepared_dictionary(dictionary)
        .and_then(|mut compressor| compressor.compress(&raw))
        .map_err(zstd_error)?;
    Ok(frame_from_compressed(SHARED_BLOCK_KIND, raw_len, &[body]))
}

/// Decodes a compacted object's dictionary frame.
pub fn decode_dictionary(bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    let (raw_len, body) = open_frame(DICTIONARY_KIND, bytes)?;
    if raw_len > MAX_DICTIONARY_BYTES {
        return Err(FormatError::TooLarge {
            what: DICTIONARY_KIND.name,
            size_bytes: raw_len as u64,
        });
    }
    let raw =
        zstd::bulk::decompress(body, raw_len).map_err(|err| FormatError::Zstd(err.to_string()))?;
    if raw.len() != raw_len {
        return Err(FormatError::Truncated {
            what: DICTIONARY_KIND.name,
        });
    }
    Ok(raw)
}

/// Decodes a block of any object: one compressed on its own, or one compressed against
/// `dictionary` (its object's, decoded with [`decode_dictionary`]), which it then needs.
pub fn decode_any_block(
    bytes: &[u8],
    dictionary: Option<&[u8]>,
) -> Result<Vec<ReplayEvent>, FormatError> {
    if !bytes.starts_with(&SHARED_BLOCK_KIND.magic) {
        return decode_block(bytes);
    }
    let dictionary = dictionary.ok_or_else(|| {
        FormatError::Header("a block compressed against a dictionary, read without it".into())
    })?;
    let (raw_len, body) = open_frame(SHARED_BLOCK_KIND, bytes)?;
    if raw_len > crate::frame::MAX_FRAME_RAW_BYTES {
        return Err(FormatError::TooLarge {
            what: SHARED_BLOCK_KIND.name,
            size_bytes: raw_len as u64,
        });
    }
    let raw = Decompressor::with_dictionary(dictionary)
        .and_then(|mut decompressor| decompressor.decompress(body, raw_len))
        .map_err(|err| FormatError::Zstd(err.to_string()))?;
    let (events, read) = bincode::serde::decode_from_slice(&raw, bincode_config())
        .map_err(|err| FormatError::Header(err.to_string()))?;
    if read != raw.len() {
        return Err(FormatError::Header(format!(
            "trailing bytes in a {}",
            SHARED_BLOCK_KIND.name
        )));
    }
    Ok(events)
}

/// Decodes every session of a whole object, compacted or not, in the header's order.
pub fn decode_object(object: &[u8]) -> Result<Vec<SessionEvents>, FormatError> {
    let header = super::lane::decode_header(object)?;
    let dictionary = header
        .dictionary
        .map(|span| decode_dictionary(super::lane::block_bytes(object, span.offset, span.len)?))
        .transpose()?;
    header
        .blocks
        .iter()
        .map(|entry| {
            let bytes = super::lane::block_bytes(object, entry.offset, entry.len)?;
            Ok(SessionEvents {
                session_id: entry.session_id.clone(),
                events: decode_any_block(bytes, dictionary.as_deref())?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Streams → `.hpc` bytes.

use std::collections::BTreeMap;

use super::block::compress_columns;
use super::write::encode_columns;
use super::{
    BlockEntry, ChunkHeader, FormatError, MAGIC, MAX_BLOCK_RAW_BYTES, MAX_HEADER_BYTES,
    SessionEntry, StreamKey, TARGET_BLOCK_RAW_BYTES, VERSION,
};
use crate::event::Stream;
use crate::frame::bincode_config;

/// zstd level for chunks: level 9 costs little at collector rates and saves ~10% over level 3.
pub const DEFAULT_ZSTD_LEVEL: i32 = 9;

/// Encodes `streams` into a chunk: sessions in id order, each session's streams in the order
/// given, whole sessions packed into blocks of about [`TARGET_BLOCK_RAW_BYTES`].
pub fn encode_chunk(streams: &[Stream], zstd_level: i32) -> Result<Vec<u8>, FormatError> {
    let mut by_session: BTreeMap<&str, Vec<&Stream>> = BTreeMap::new();
    for stream in streams {
        by_session
            .entry(&stream.session_id)
            .or_default()
            .push(stream);
    }
    let mut blocks = Vec::new();
    let mut data = Vec::new();
    let mut pending: Vec<(&str, Vec<&Stream>)> = Vec::new();
    let mut pending_events = 0usize;
    let sessions: Vec<(&str, Vec<&Stream>)> = by_session.into_iter().collect();
    let num_sessions = sessions.len();
    for (index, (session_id, session_streams)) in sessions.into_iter().enumerate() {
        pending_events += session_streams
            .iter()
            .map(|s| s.num_events())
            .sum::<usize>()
            + 8 * session_streams.len();
        pending.push((session_id, session_streams));
        // Events cost 3-6 raw bytes; close the block once it is about the target size.
        if pending_events * 4 >= TARGET_BLOCK_RAW_BYTES || index + 1 == num_sessions {
            blocks.push(write_block(&pending, zstd_level, &mut data)?);
            pending.clear();
            pending_events = 0;
        }
    }
    let header = ChunkHeader {
        num_streams: len_u32(streams.len())?,
        num_events: streams.iter().map(|s| s.num_events() as u64).sum(),
        first_started_at_ms: streams
            .iter()
            .map(|s| s.page.started_at_ms)
            .min()
            .unwrap_or(0),
        blocks,
    };
    let raw_header = bincode::serde::encode_to_vec(&header, bincode_config())
        .map_err(|err| FormatError::Encode(err.to_string()))?;
    if raw_header.len() > MAX_HEADER_BYTES {
        return Err(FormatError::TooLarge {
            what: "header",
            size_bytes: raw_header.len() as u64,
        });
    }
    let header_bytes = zstd::bulk::compress(&raw_header, zstd_level)
        .map_err(|err| FormatError::Zstd(err.to_string()))?;
    let mut out = Vec::with_capacity(super::PREAMBLE_LEN + header_bytes.len() + data.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&len_u32(header_bytes.len())?.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&header_bytes).to_le_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&data);
    Ok(out)
}

/// Encodes and compresses one block of whole sessions, appending it to `data`.
fn write_block(
    sessions: &[(&str, Vec<&Stream>)],
    zstd_level: i32,
    data: &mut Vec<u8>,
) -> Result<BlockEntry, FormatError> {
    let ordered: Vec<&Stream> = sessions
        .iter()
        .flat_map(|(_, streams)| streams.iter().copied())
        .collect();
    let (compressed, raw_len) = compress_columns(&encode_columns(&ordered), zstd_level)
        .map_err(|err| FormatError::Zstd(err.to_string()))?;
    if raw_len > MAX_BLOCK_RAW_BYTES {
        return Err(FormatError::TooLarge {
            what: "block",
            size_bytes: raw_len as u64,
        });
    }
    let entry = BlockEntry {
        offset: data.len() as u64,
        compressed_len: len_u32(compressed.len())?,
        raw_len: len_u32(raw_len)?,
        crc32: crc32fast::hash(&compressed),
        sessions: sessions
            .iter()
            .map(|(session_id, streams)| {
                let keys = streams
                    .iter()
                    .map(|stream| StreamKey {
                        batch_seq: stream.batch_seq,
                        page_view_index: stream.page_view_index,
                    })
                    .collect();
                SessionEntry {
                    session_id: (*session_id).to_owned(),
                    streams: keys,
                }
            })
            .collect(),
    };
    data.extend_from_slice(&compressed);
    Ok(entry)
}

fn len_u32(len: usize) -> Result<u32, FormatError> {
    u32::try_from(len).map_err(|_| FormatError::TooLarge {
        what: "section",
        size_bytes: len as u64,
    })
}

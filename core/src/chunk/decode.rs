//! `.hpc` bytes → header, blocks and streams. Every failure is a [`FormatError`].

use std::ops::Range;

use super::block::{decompress_bounded, decompress_columns, recycle_columns};
use super::header_v1::ChunkHeaderV1;
use super::read::{BlockStreams, SessionNames, decode_streams};
use super::{
    BlockEntry, COMPRESSED_HEADER_VERSION, ChunkHeader, FormatError, MAGIC, MAX_BLOCK_RAW_BYTES,
    MAX_HEADER_BYTES, PREAMBLE_LEN, VERSION,
};
use crate::event::Stream;
use crate::frame::bincode_config;

/// A decoded header and where the block data starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkIndex {
    pub header: ChunkHeader,
    /// Offset of the first block from the start of the chunk.
    pub data_start: u64,
}

impl ChunkIndex {
    /// Returns the byte range of block `index` within the chunk.
    pub fn block_range(&self, index: usize) -> Option<Range<u64>> {
        let entry = self.header.blocks.get(index)?;
        let start = self.data_start.checked_add(entry.offset)?;
        Some(start..start.checked_add(u64::from(entry.compressed_len))?)
    }
}

/// Returns the length of the preamble plus header, reading only the preamble.
pub fn header_end(prefix: &[u8]) -> Result<usize, FormatError> {
    let preamble = prefix
        .get(..PREAMBLE_LEN)
        .ok_or(FormatError::Truncated { what: "preamble" })?;
    if preamble[..4] != MAGIC {
        return Err(FormatError::BadMagic {
            expected: "heatpipe chunk",
        });
    }
    let version = u16::from_le_bytes([preamble[4], preamble[5]]);
    if version == 0 || version > VERSION {
        return Err(FormatError::UnsupportedVersion {
            what: "chunk",
            version,
        });
    }
    let header_len =
        u32::from_le_bytes([preamble[6], preamble[7], preamble[8], preamble[9]]) as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(FormatError::TooLarge {
            what: "header",
            size_bytes: header_len as u64,
        });
    }
    Ok(PREAMBLE_LEN + header_len)
}

/// Decodes the header from the start of a chunk (the whole chunk, or at least its header).
pub fn decode_header(bytes: &[u8]) -> Result<ChunkIndex, FormatError> {
    let end = header_end(bytes)?;
    let header_bytes = bytes
        .get(PREAMBLE_LEN..end)
        .ok_or(FormatError::Truncated { what: "header" })?;
    let expected_crc = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
    if crc32fast::hash(header_bytes) != expected_crc {
        return Err(FormatError::Checksum {
            what: "header".into(),
        });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    let header = if version >= COMPRESSED_HEADER_VERSION {
        let raw_header = decompress_bounded(header_bytes, MAX_HEADER_BYTES)
            .map_err(|err| FormatError::Header(format!("zstd: {err}")))?;
        let header = decode_exactly::<ChunkHeader>(&raw_header);
        recycle_columns([raw_header]);
        header?
    } else {
        decode_exactly::<ChunkHeaderV1>(header_bytes)?.into()
    };
    Ok(ChunkIndex {
        header,
        data_start: end as u64,
    })
}

/// Decodes a bincode header that must fill `bytes` exactly.
fn decode_exactly<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatError> {
    let (header, read): (T, usize) = bincode::serde::decode_from_slice(bytes, bincode_config())
        .map_err(|err| FormatError::Header(err.to_string()))?;
    if read != bytes.len() {
        return Err(FormatError::Header("trailing bytes after header".into()));
    }
    Ok(header)
}

/// What a decoder must know of a block: from a chunk header, or from a session index entry.
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec<'a> {
    pub compressed_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
    pub num_streams: usize,
    /// Where the ids of the block's sessions come from (layout 3 blocks do not hold them).
    pub names: SessionNames<'a>,
}

impl BlockEntry {
    /// Returns what decoding this block needs, its sessions named by the header.
    pub fn spec(&self) -> BlockSpec<'_> {
        BlockSpec {
            compressed_len: self.compressed_len,
            raw_len: self.raw_len,
            crc32: self.crc32,
            num_streams: self.num_streams(),
            names: SessionNames::Header(&self.sessions),
        }
    }
}

/// Decodes one block from its compressed bytes, checking size and checksum first.
pub fn decode_block(
    compressed: &[u8],
    entry: BlockSpec<'_>,
    block: usize,
) -> Result<Vec<Stream>, FormatError> {
    with_block_streams(compressed, entry, block, |streams| {
        streams.iter().map(|stream| stream.to_stream()).collect()
    })
}

/// Decodes one block, checked whole (size, checksum, every column, the stream count), and
/// hands its borrowed streams to `visit`; nothing is allocated per stream or per event.
pub fn with_block_streams<R>(
    compressed: &[u8],
    entry: BlockSpec<'_>,
    block: usize,
    visit: impl FnOnce(&BlockStreams<'_>) -> R,
) -> Result<R, FormatError> {
    if compressed.len() != entry.compressed_len as usize {
        return Err(FormatError::Truncated { what: "block" });
    }
    if crc32fast::hash(compressed) != entry.crc32 {
        return Err(FormatError::Checksum {
            what: format!("block {block}"),
        });
    }
    let raw_len = entry.raw_len as usize;
    if raw_len > MAX_BLOCK_RAW_BYTES {
        return Err(FormatError::TooLarge {
            what: "block",
            size_bytes: raw_len as u64,
        });
    }
    let columns = decompress_columns(compressed, raw_len)
        .map_err(|reason| FormatError::BlockContent { block, reason })?;
    let visited = match decode_streams(&columns, entry.names) {
        Err(source) => Err(FormatError::Block { block, source }),
        Ok(streams) if streams.len() != entry.num_streams => Err(FormatError::BlockContent {
            block,
            reason: "stream count differs from header".into(),
        }),
        Ok(streams) => {
            let visited = visit(&streams);
            streams.recycle();
            Ok(visited)
        }
    };
    recycle_columns(columns);
    visited
}

/// Decodes a whole chunk into its streams, sessions in id order.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Stream>, FormatError> {
    let index = decode_header(bytes)?;
    let mut streams = Vec::with_capacity((index.header.num_streams as usize).min(bytes.len()));
    for (block, entry) in index.header.blocks.iter().enumerate() {
        let compressed = index
            .block_range(block)
            .and_then(|range| bytes.get(range.start as usize..range.end as usize))
            .ok_or(FormatError::Truncated { what: "block" })?;
        streams.extend(decode_block(compressed, entry.spec(), block)?);
    }
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::encode_chunk;
    use crate::event::{
        Click, ClickReaction, DeviceClass, Move, PageView, Resize, Scroll, TargetPoint,
    };
    use proptest::prelude::*;

    fn arb_stream() -> impl Strategy<Value = Stream> {
        let page = (
            "[a-z]{1,3}",
            any::<(u32, u32, u32, u32)>(),
            any::<i64>(),
            proptest::collection::vec(("[a-z]{1,4}", "[a-zA-Z0-9]{0,4}"), 0..3),
        );
        let moves = proptest::collection::vec(any::<(u32, i32, i32)>(), 0..40);
        let clicks = proptest::collection::vec(
            (
                any::<(u32, i32, i32)>(),
                "[#.a-z]{0,6}",
                proptest::option::of((0..=10_000u16, 0..=10_000u16)),
                prop::sample::select(ClickReaction::ALL.to_vec()),
            ),
            0..6,
        );
        let scrolls = proptest::collection::vec(any::<(u32, i32)>(), 0..10);
        let resizes = proptest::collection::vec(any::<(u32, u32, u32)>(), 0..3);
        let visitor_key = proptest::option::of("[0-9a-f]{32}");
        (
            "[a-c]{1,2}",
            any::<u64>(),
            any::<u32>(),
            (page, visitor_key),
            moves,
            clicks,
            scrolls,
            resizes,
        )
            .prop_map(
                |(
                    session_id,
                    batch_seq,
                    page_view_index,
                    ((url, (vw, vh, dw, dh), started, tags), visitor_key),
                    moves,
                    clicks,
                    scrolls,
                    resizes,
                )| Stream {
                    session_id,
                    batch_seq,
                    page_view_index,
                    page: PageView {
                        url: format!("https://{url}.example/"),
                        viewport_width_px: vw,
                        viewport_height_px: vh,
                        document_width_px: dw,
                        document_height_px: dh,
                        device: DeviceClass::from_viewport_width(vw),
                        started_at_ms: started,
                        tags,
                        visitor_key,
                    },
                    moves: moves
                        .into_iter()
                        .map(|(t_ms, x, y)| Move { t_ms, x, y })
                        .collect(),
                    clicks: clicks
                        .into_iter()
                        .map(|((t_ms, x, y), selector, inside, reaction)| Click {
                            t_ms,
                            x,
                            y,
                            selector,
                            inside: inside.map(|(x_permyriad, y_permyriad)| TargetPoint {
                                x_permyriad,
                                y_permyriad,
                            }),
                            reaction,
                        })
                        .collect(),
                    scrolls: scrolls
                        .into_iter()
                        .map(|(t_ms, y)| Scroll { t_ms, y })
                        .collect(),
                    resizes: resizes
                        .into_iter()
                        .map(|(t_ms, width_px, height_px)| Resize {
                            t_ms,
                            width_px,
                            height_px,
                        })
                        .collect(),
                },
            )
    }

    /// The order `decode_chunk` returns: sessions by id, each session's streams as given.
    fn in_chunk_order(mut streams: Vec<Stream>) -> Vec<Stream> {
        streams.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        streams
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn chunks_round_trip_exactly(streams in proptest::collection::vec(arb_stream(), 0..8)) {
            let bytes = encode_chunk(&streams, 3).expect("encode");
            let decoded = decode_chunk(&bytes).expect("decode");
            prop_assert_eq!(decoded, in_chunk_order(streams));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_chunk(&bytes);
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = decode_chunk(&with_magic);
        }

        #[test]
        fn any_single_byte_flip_is_detected(streams in proptest::collection::vec(arb_stream(), 1..4), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = encode_chunk(&streams, 3).expect("encode");
            let position = at.index(bytes.len());
            bytes[position] ^= 1 << bit;
            // Every byte is covered by the magic, version, a length or a checksum, except that a
            // flip turning the version into 2 or 3 is read the same way (versions 2 to 4 differ
            // in what the writer puts in blocks, not in how a reader reads them): a flip is
            // refused, or it changes nothing.
            let version_flipped_to_2 = position == 4 && matches!(bytes[4], 2 | 3);
            match decode_chunk(&bytes) {
                Err(_) => {}
                Ok(decoded) => {
                    prop_assert!(version_flipped_to_2, "flip at {} not detected", position);
                    prop_assert_eq!(decoded, in_chunk_order(streams));
                }
            }
        }

        #[test]
        fn blocks_of_garbage_columns_with_valid_checksums_never_panic(
            columns in prop::sample::select(vec![27usize, 30, 31, 33]).prop_flat_map(|count| {
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..48), count)
            }),
        ) {
            // Well-framed, correctly checksummed blocks whose column contents are arbitrary:
            // only the column decoder stands between them and a panic.
            let (compressed, raw_len) = crate::chunk::block::compress_columns(&columns, 1).expect("compress");
            let entry = BlockEntry {
                offset: 0,
                compressed_len: compressed.len() as u32,
                raw_len: raw_len as u32,
                crc32: crc32fast::hash(&compressed),
                sessions: vec![],
            };
            let _ = decode_block(&compressed, entry.spec(), 0);
        }

        #[test]
        fn garbage_block_containers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), raw_len in 0usize..4096) {
            let _ = crate::chunk::block::decompress_columns(&bytes, raw_len);
        }

        #[test]
        fn mutated_columns_of_real_blocks_never_panic(
            streams in proptest::collection::vec(arb_stream(), 1..4),
            column in 0usize..crate::chunk::block::NUM_COLUMNS,
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let refs: Vec<&Stream> = streams.iter().collect();
            let mut columns = crate::chunk::write::encode_columns(&refs);
            if !columns[column].is_empty() {
                let position = at.index(columns[column].len());
                columns[column][position] = byte;
            }
            let _ = crate::chunk::read::decode_columns(&columns, SessionNames::Unknown);
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let streams: Vec<Stream> = proptest::strategy::ValueTree::current(
            &proptest::collection::vec(arb_stream(), 3)
                .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
                .expect("tree"),
        );
        let bytes = encode_chunk(&streams, 3).expect("encode");
        for len in 0..bytes.len() {
            assert!(
                decode_chunk(&bytes[..len]).is_err(),
                "truncated at {len} decoded"
            );
        }
        assert!(decode_chunk(&bytes).is_ok());
    }

    #[test]
    fn large_chunks_pack_whole_sessions_into_several_blocks() {
        let streams: Vec<Stream> = (0..400u32)
            .map(|i| {
                let mut stream =
                    crate::chunk::write::tests::stream(&format!("session-{i:04}"), 0, 0);
                stream.page.started_at_ms += i64::from(i);
                stream.moves = (0..300)
                    .map(|t| Move {
                        t_ms: t * 50,
                        x: (t * 7 % 1280) as i32,
                        y: (t * 13 % 3000) as i32,
                    })
                    .collect();
                stream
            })
            .collect();
        let bytes = encode_chunk(&streams, 3).expect("encode");
        let index = decode_header(&bytes).expect("header");
        assert!(
            index.header.blocks.len() > 1,
            "{} blocks",
            index.header.blocks.len()
        );
        let mut sessions: Vec<&str> = index
            .header
            .blocks
            .iter()
            .flat_map(|b| b.sessions.iter().map(|s| s.session_id.as_str()))
            .collect();
        assert_eq!(sessions.len(), 400, "each session in exactly one block");
        sessions.dedup();
        assert_eq!(sessions.len(), 400);
        assert_eq!(decode_chunk(&bytes).expect("decode"), streams);
    }

    #[test]
    fn newer_versions_are_refused_with_a_clear_error() {
        let mut bytes = encode_chunk(&[], 3).expect("encode");
        bytes[4] = 99;
        assert_eq!(
            decode_chunk(&bytes),
            Err(FormatError::UnsupportedVersion {
                what: "chunk",
                version: 99
            })
        );
    }
}

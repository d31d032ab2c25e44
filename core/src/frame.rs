//! A small framed container for aggregate and index files: magic, version, checksum, then a
//! zstd-compressed bincode body. Used by `.hpa` and `.hps`.
//!
//! ```text
//! magic [4] | version u16 LE | raw_len u32 LE | crc32 of the compressed body u32 LE | zstd(bincode)
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FormatError;

/// Largest decompressed body a decoder accepts.
pub const MAX_FRAME_RAW_BYTES: usize = 512 << 20;
const PREAMBLE_LEN: usize = 14;
/// The zstd level of aggregates: they are rewritten on every processing run, and level 3 is
/// several times faster to write than 6 for a few percent more bytes.
pub const FRAME_ZSTD_LEVEL: i32 = 3;

/// The bincode configuration of every heatpipe file, with a limit that bounds allocations.
pub fn bincode_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_FRAME_RAW_BYTES>,
> {
    bincode::config::standard().with_limit::<MAX_FRAME_RAW_BYTES>()
}

/// Appends the bincode bytes of `value` to `out`, as [`encode_frame`]'s body would hold them.
/// Most of what bincode writes is one varint byte at a time, which this pushes rather than
/// copying each with a call.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), FormatError> {
    bincode::serde::encode_into_writer(value, AppendWriter(out), bincode_config())
        .map_err(|err| FormatError::Encode(err.to_string()))
}

/// A bincode writer appending to a vector.
struct AppendWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for AppendWriter<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        match bytes {
            [byte] => self.0.push(*byte),
            _ => self.0.extend_from_slice(bytes),
        }
        Ok(())
    }
}

/// Describes one kind of framed file.
#[derive(Debug, Clone, Copy)]
pub struct FrameKind {
    pub magic: [u8; 4],
    pub version: u16,
    /// The oldest version this build still reads; older files must be written again.
    pub oldest_version: u16,
    pub name: &'static str,
    /// The zstd level its body is written at.
    pub zstd_level: i32,
}

/// Bodies larger than this are compressed in pieces of this size on the rayon pool, each piece
/// its own zstd frame. A zstd decoder reads concatenated frames as one body, and the pieces'
/// bounds depend on the size alone, so the bytes are the same whatever the number of threads.
const PIECE_BYTES: usize = 4 << 20;

/// Encodes `value` as a framed file of `kind`.
pub fn encode_frame<T: Serialize>(kind: FrameKind, value: &T) -> Result<Vec<u8>, FormatError> {
    let raw = bincode::serde::encode_to_vec(value, bincode_config())
        .map_err(|err| FormatError::Encode(err.to_string()))?;
    frame_from_raw(kind, &raw)
}

/// Items one rayon task encodes when a long sequence is encoded in parallel.
pub const ITEMS_PER_TASK: usize = 1024;

/// Returns the bincode encoding of `items` as a sequence, exactly as [`encode_frame`] would
/// encode a `Vec` of them, with the items encoded on the rayon pool [`ITEMS_PER_TASK`] at a time.
pub fn encode_seq_parallel<T: Serialize + Sync>(items: &[T]) -> Result<Vec<u8>, FormatError> {
    use rayon::prelude::*;
    let parts = items
        .par_chunks(ITEMS_PER_TASK)
        .map(|part| {
            let mut out = Vec::new();
            for item in part {
                encode_into(item, &mut out)?;
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    // The length first: bincode writes a `u64` in 9 bytes at most.
    let mut encoded = Vec::with_capacity(9 + parts.iter().map(Vec::len).sum::<usize>());
    encode_into(&(items.len() as u64), &mut encoded)?;
    for part in parts {
        encoded.extend_from_slice(&part);
    }
    Ok(encoded)
}

/// Frames an already encoded bincode body `raw` as a file of `kind`.
pub fn frame_from_raw(kind: FrameKind, raw: &[u8]) -> Result<Vec<u8>, FormatError> {
    frame_from_parts(kind, &[raw])
}

/// Frames the body that `parts` make end to end as a file of `kind`: the bytes
/// [`frame_from_raw`] gives for their concatenation, without ever concatenating them. Each
/// piece is gathered from the parts and compressed on the rayon pool.
pub fn frame_from_parts<P: AsRef<[u8]> + Sync>(
    kind: FrameKind,
    parts: &[P],
) -> Result<Vec<u8>, FormatError> {
    use rayon::prelude::*;
    let raw_len: usize = parts.iter().map(|part| part.as_ref().len()).sum();
    let raw_len = u32::try_from(raw_len).map_err(|_| FormatError::TooLarge {
        what: "frame",
        size_bytes: raw_len as u64,
    })?;
    let pieces: Vec<Vec<u8>> = (0..(raw_len as usize).div_ceil(PIECE_BYTES))
        .into_par_iter()
        .map(|piece| {
            let start = piece * PIECE_BYTES;
            let gathered = gather(parts, start..(start + PIECE_BYTES).min(raw_len as usize));
            zstd::bulk::compress(&gathered, kind.zstd_level)
        })
        .collect::<Result<_, _>>()
        .map_err(|err| FormatError::Zstd(err.to_string()))?;
    Ok(frame_from_compressed(kind, raw_len, &pieces))
}

/// Frames a body already compressed (in `pieces`, end to end) from `raw_len` bytes, as a file
/// of `kind`: for bodies compressed some other way than [`frame_from_parts`] does (against a
/// dictionary, say). [`open_frame`] checks it like any other.
pub fn frame_from_compressed<P: AsRef<[u8]>>(
    kind: FrameKind,
    raw_len: u32,
    pieces: &[P],
) -> Vec<u8> {
    let body_len: usize = pieces.iter().map(|piece| piece.as_ref().len()).sum();
    let mut out = Vec::with_capacity(PREAMBLE_LEN + body_len);
    out.extend_from_slice(&kind.magic);
    out.extend_from_slice(&kind.version.to_le_bytes());
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for piece in pieces {
        out.extend_from_slice(piece.as_ref());
    }
    let crc = crc32fast::hash(&out[PREAMBLE_LEN..]);
    out[PREAMBLE_LEN - 4..PREAMBLE_LEN].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Returns bytes `range` of the body `parts` make end to end: borrowed when one part holds them
/// all, copied together otherwise.
fn gather<P: AsRef<[u8]>>(
    parts: &[P],
    range: std::ops::Range<usize>,
) -> std::borrow::Cow<'_, [u8]> {
    let mut pieces = Vec::new();
    let mut part_start = 0;
    for part in parts {
        let part = part.as_ref();
        let part_end = part_start + part.len();
        let (from, to) = (range.start.max(part_start), range.end.min(part_end));
        if from < to {
            pieces.push(&part[from - part_start..to - part_start]);
        }
        part_start = part_end;
        if part_start >= range.end {
            break;
        }
    }
    match pieces.as_slice() {
        [one] => std::borrow::Cow::Borrowed(one),
        _ => std::borrow::Cow::Owned(pieces.concat()),
    }
}

/// Writes a framed file a little at a time, for bodies too large to hold whole: each full piece
/// is compressed as it fills. The bytes are those [`frame_from_raw`] gives for the whole body.
pub struct FrameWriter {
    kind: FrameKind,
    /// The preamble (filled in by [`FrameWriter::finish`]) and the pieces compressed so far.
    out: Vec<u8>,
    piece: Vec<u8>,
    raw_len: u64,
}

impl FrameWriter {
    pub fn new(kind: FrameKind) -> Self {
        FrameWriter {
            kind,
            out: vec![0; PREAMBLE_LEN],
            piece: Vec::new(),
            raw_len: 0,
        }
    }

    /// Appends `bytes` to the body.
    pub fn append(&mut self, mut bytes: &[u8]) -> Result<(), FormatError> {
        while !bytes.is_empty() {
            let take = (PIECE_BYTES - self.piece.len()).min(bytes.len());
            self.piece.extend_from_slice(&bytes[..take]);
            self.raw_len += take as u64;
            bytes = &bytes[take..];
            if self.piece.len() == PIECE_BYTES {
                self.compress_piece()?;
            }
        }
        Ok(())
    }

    /// Appends the bincode encoding of `value` to the body.
    pub fn append_encoded<T: Serialize>(&mut self, value: &T) -> Result<(), FormatError> {
        bincode::serde::encode_into_std_write(value, &mut FrameSink(self), bincode_config())
            .map(drop)
            .map_err(|err| FormatError::Encode(err.to_string()))
    }

    fn compress_piece(&mut self) -> Result<(), FormatError> {
        let compressed = zstd::bulk::compress(&self.piece, self.kind.zstd_level)
            .map_err(|err| FormatError::Zstd(err.to_string()))?;
        self.out.extend_from_slice(&compressed);
        self.piece.clear();
        Ok(())
    }

    /// Returns the framed file.
    pub fn finish(mut self) -> Result<Vec<u8>, FormatError> {
        if !self.piece.is_empty() {
            self.compress_piece()?;
        }
        let raw_len = u32::try_from(self.raw_len).map_err(|_| FormatError::TooLarge {
            what: "frame",
            size_bytes: self.raw_len,
        })?;
        let crc = crc32fast::hash(&self.out[PREAMBLE_LEN..]);
        self.out[..4].copy_from_slice(&self.kind.magic);
        self.out[4..6].copy_from_slice(&self.kind.version.to_le_bytes());
        self.out[6..10].copy_from_slice(&raw_len.to_le_bytes());
        self.out[10..PREAMBLE_LEN].copy_from_slice(&crc.to_le_bytes());
        Ok(self.out)
    }
}

/// Lets bincode write into a [`FrameWriter`]; its errors come back as I/O errors.
struct FrameSink<'w>(&'w mut FrameWriter);

impl std::io::Write for FrameSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.append(bytes).map_err(std::io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns the decompressed length of a framed file's body as its preamble states it, without
/// checking anything else (None if there is no whole preamble).
pub fn declared_raw_len(bytes: &[u8]) -> Option<usize> {
    let field = bytes.get(6..10)?;
    Some(u32::from_le_bytes([field[0], field[1], field[2], field[3]]) as usize)
}

/// Checks a framed file's magic, version and checksum; returns the length its body has
/// decompressed, and its compressed body.
pub fn open_frame(kind: FrameKind, bytes: &[u8]) -> Result<(usize, &[u8]), FormatError> {
    let preamble = bytes
        .get(..PREAMBLE_LEN)
        .ok_or(FormatError::Truncated { what: "preamble" })?;
    if preamble[..4] != kind.magic {
        return Err(FormatError::BadMagic {
            expected: kind.name,
        });
    }
    let version = u16::from_le_bytes([preamble[4], preamble[5]]);
    if version == 0 || version > kind.version {
        return Err(FormatError::UnsupportedVersion {
            what: kind.name,
            version,
        });
    }
    if version < kind.oldest_version {
        return Err(FormatError::Outdated {
            what: kind.name,
            version,
        });
    }
    let raw_len = u32::from_le_bytes([preamble[6], preamble[7], preamble[8], preamble[9]]) as usize;
    let body = &bytes[PREAMBLE_LEN..];
    let crc = u32::from_le_bytes([preamble[10], preamble[11], preamble[12], preamble[13]]);
    if crc32fast::hash(body) != crc {
        return Err(FormatError::Checksum {
            what: kind.name.into(),
        });
    }
    Ok((raw_len, body))
}

/// Decodes a framed file of `kind`, checking magic, version, checksum and size.
pub fn decode_frame<T: DeserializeOwned>(kind: FrameKind, bytes: &[u8]) -> Result<T, FormatError> {
    let (raw_len, body) = open_frame(kind, bytes)?;
    if raw_len > MAX_FRAME_RAW_BYTES {
        return Err(FormatError::TooLarge {
            what: kind.name,
            size_bytes: raw_len as u64,
        });
    }
    let raw =
        zstd::bulk::decompress(body, raw_len).map_err(|err| FormatError::Zstd(err.to_string()))?;
    if raw.len() != raw_len {
        return Err(FormatError::Truncated { what: kind.name });
    }
    let (value, read) = bincode::serde::decode_from_slice(&raw, bincode_config())
        .map_err(|err| FormatError::Header(err.to_string()))?;
    if read != raw.len() {
        return Err(FormatError::Header(format!(
            "trailing bytes in {}",
            kind.name
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KIND: FrameKind = FrameKind {
        magic: *b"TEST",
        version: 1,
        oldest_version: 1,
        name: "test file",
        zstd_level: FRAME_ZSTD_LEVEL,
    };

    #[test]
    fn large_bodies_compress_in_pieces_that_decode_as_one() {
        let value: Vec<(String, u64)> = (0..700_000u64)
            .map(|i| (format!("session-{}", i * 7919 % 100_003), i))
            .collect();
        let raw = bincode::serde::encode_to_vec(&value, bincode_config()).expect("encode");
        assert!(raw.len() > 2 * PIECE_BYTES, "the test needs several pieces");
        assert_eq!(encode_seq_parallel(&value).expect("parallel"), raw);
        let bytes = encode_frame(KIND, &value).expect("frame");
        assert_eq!(frame_from_raw(KIND, &raw).expect("frame"), bytes);
        assert_eq!(
            decode_frame::<Vec<(String, u64)>>(KIND, &bytes).expect("decode"),
            value
        );
    }

    #[test]
    fn a_body_written_a_little_at_a_time_or_in_parts_frames_like_the_whole() {
        // Pseudo-random bytes, so pieces do not compress to almost nothing.
        let raw: Vec<u8> = (0..2 * PIECE_BYTES + 12_345)
            .map(|i| {
                (i as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(17) as u8
            })
            .collect();
        for cut in [0, 1, 4_096, PIECE_BYTES, raw.len()] {
            let mut writer = FrameWriter::new(KIND);
            writer.append(&raw[..cut]).expect("first part");
            for part in raw[cut..].chunks(777_777) {
                writer.append(part).expect("append");
            }
            let whole = frame_from_raw(KIND, &raw).expect("whole");
            assert_eq!(writer.finish().expect("finish"), whole, "cut at {cut}");
            // The same body in parts that straddle the pieces' bounds, empty parts included.
            let mut parts = vec![&raw[..cut], &raw[..0]];
            parts.extend(raw[cut..].chunks(777_777));
            assert_eq!(
                frame_from_parts(KIND, &parts).expect("parts"),
                whole,
                "parts cut at {cut}"
            );
        }
        let exact = &raw[..PIECE_BYTES];
        let mut writer = FrameWriter::new(KIND);
        writer.append(exact).expect("one full piece");
        assert_eq!(
            writer.finish().expect("finish"),
            frame_from_raw(KIND, exact).expect("whole")
        );
        let value: Vec<(String, u64)> = vec![("a".into(), 1), ("b".into(), u64::MAX)];
        let mut writer = FrameWriter::new(KIND);
        writer.append_encoded(&value).expect("encode");
        assert_eq!(
            writer.finish().expect("finish"),
            encode_frame(KIND, &value).expect("plain")
        );
        assert_eq!(
            FrameWriter::new(KIND).finish().expect("empty"),
            frame_from_raw(KIND, &[]).expect("empty")
        );
    }

    #[test]
    fn round_trips_and_detects_damage() {
        let value: Vec<(String, u64)> = vec![("a".into(), 1), ("b".into(), u64::MAX)];
        let bytes = encode_frame(KIND, &value).expect("encode");
        assert_eq!(
            decode_frame::<Vec<(String, u64)>>(KIND, &bytes).expect("decode"),
            value
        );
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            assert!(
                decode_frame::<Vec<(String, u64)>>(KIND, &damaged).is_err(),
                "flip at {position}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut framed = KIND.magic.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = decode_frame::<Vec<(String, u64)>>(KIND, &framed);
        }

        #[test]
        fn appending_gives_bincodes_bytes(
            prefix in proptest::collection::vec(any::<u8>(), 0..8),
            value in proptest::collection::vec((".{0,300}", any::<u64>(), any::<i32>()), 0..20),
        ) {
            let mut out = prefix.clone();
            encode_into(&value, &mut out).expect("encode");
            let expected = bincode::serde::encode_to_vec(&value, bincode_config()).expect("encode");
            prop_assert_eq!(&out[..prefix.len()], &prefix[..]);
            prop_assert_eq!(&out[prefix.len()..], &expected[..]);
        }
    }
}

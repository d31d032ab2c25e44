//! A day's session index read one session at a time, for indexes too large to decode whole.
//!
//! [`SessionIndex::decode`](crate::session::SessionIndex::decode) holds the whole decompressed
//! body and every summary at once, and refuses a body over
//! [`MAX_FRAME_RAW_BYTES`](crate::frame::MAX_FRAME_RAW_BYTES): a day of a few million sessions.
//! [`SessionIndexReader`] checks the same magic, version and checksum, then decompresses as it
//! goes and yields one [`SessionSummary`] at a time, so what it holds is the chunk table, a
//! buffer and the summary being read, whatever the size of the day.

use std::io::{BufReader, Read};

use crate::error::FormatError;
use crate::frame::{bincode_config, open_frame};
use crate::session::{SESSION_INDEX_KIND, SessionSummary};

/// Counts the bytes read through it: the body must be exactly as long as its preamble says.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.read += read as u64;
        Ok(read)
    }
}

type Body<'a> = Counted<BufReader<zstd::stream::read::Decoder<'static, &'a [u8]>>>;

/// Reads a session index's summaries one at a time, in index order (start time, then id).
/// Yields an error, once, where the body is damaged or does not end where it should, and nothing
/// after it.
pub struct SessionIndexReader<'a> {
    chunks: Vec<String>,
    /// Summaries not read yet.
    remaining: u64,
    body: Body<'a>,
    raw_len: u64,
    done: bool,
}

fn body_error(err: impl std::fmt::Display) -> FormatError {
    FormatError::Header(format!("session index: {err}"))
}

impl<'a> SessionIndexReader<'a> {
    /// Checks the index's preamble and checksum and reads its chunk table.
    pub fn open(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let (raw_len, compressed) = open_frame(SESSION_INDEX_KIND, bytes)?;
        let decoder = zstd::stream::read::Decoder::with_buffer(compressed)
            .map_err(|err| FormatError::Zstd(err.to_string()))?;
        let mut body = Counted {
            inner: BufReader::new(decoder),
            read: 0,
        };
        let chunks: Vec<String> = bincode::serde::decode_from_std_read(&mut body, bincode_config())
            .map_err(body_error)?;
        let remaining: u64 = bincode::serde::decode_from_std_read(&mut body, bincode_config())
            .map_err(body_error)?;
        Ok(SessionIndexReader {
            chunks,
            remaining,
            body,
            raw_len: raw_len as u64,
            done: false,
        })
    }

    /// The keys of the chunks the sessions' blocks lie in, sorted.
    pub fn chunks(&self) -> &[String] {
        &self.chunks
    }

    /// Summaries not read yet, as the index's header counts them.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Checks that the body ends after the last summary, where its preamble says it does.
    fn check_end(&mut self) -> Result<(), FormatError> {
        let mut extra = [0u8; 1];
        let trailing = self
            .body
            .read(&mut extra)
            .map_err(|err| FormatError::Zstd(err.to_string()))?;
        if trailing != 0 || self.body.read != self.raw_len {
            return Err(body_error(format!(
                "body is {} bytes where its preamble says {}",
                self.body.read + trailing as u64,
                self.raw_len
            )));
        }
        Ok(())
    }
}

impl Iterator for SessionIndexReader<'_> {
    type Item = Result<SessionSummary, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.remaining == 0 {
            self.done = true;
            return self.check_end().err().map(Err);
        }
        match bincode::serde::decode_from_std_read(&mut self.body, bincode_config()) {
            Ok(summary) => {
                self.remaining -= 1;
                Some(Ok(summary))
            }
            Err(err) => {
                self.done = true;
                Some(Err(body_error(err)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DeviceClass;
    use crate::session::{BlockRef, Frustration, PageViewSummary, SessionIndex};
    use proptest::prelude::*;

    /// Summaries whose ids and URLs vary, so an index of many compresses to several pieces.
    fn summary(number: u64) -> SessionSummary {
        let scrambled = number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        SessionSummary {
            id: format!("{scrambled:016x}"),
            started_at_ms: 1_763_769_600_000 + number as i64 * 300,
            duration_ms: scrambled % 600_000,
            active_ms: scrambled % 300_000,
            device: DeviceClass::Mobile,
            num_clicks: scrambled % 13,
            num_moves: scrambled % 977,
            num_scrolls: scrambled % 31,
            tags: vec![("variant".into(), format!("{}", scrambled % 5))],
            visitor_key: scrambled
                .is_multiple_of(3)
                .then(|| format!("{scrambled:016x}{number:016x}")),
            frustration: Frustration {
                rage_clicks: scrambled % 3,
                ..Frustration::default()
            },
            page_views: vec![PageViewSummary {
                index: 0,
                url: format!("https://shop.example/p/{}", scrambled % 10_007),
                key: format!("{:016x}", scrambled.rotate_left(7)),
                started_at_ms: 0,
                duration_ms: scrambled % 60_000,
                active_ms: scrambled % 30_000,
                max_depth_px: (scrambled % 9_000) as u32,
                document_height_px: (scrambled % 4) as u32 * 3_000,
                frustration: Frustration::default(),
            }],
            blocks: vec![BlockRef {
                chunk: (number % 3) as u32,
                offset: scrambled % 1_000_000,
                compressed_len: 2_000,
                raw_len: 9_000,
                crc32: scrambled as u32,
                num_streams: 12,
                session: (number % 40) as u32,
            }],
        }
    }

    fn index(sessions: u64) -> SessionIndex {
        SessionIndex {
            chunks: vec!["raw/a.hpc".into(), "raw/b.hpc".into(), "raw/c.hpc".into()],
            sessions: (0..sessions).map(summary).collect(),
        }
    }

    #[test]
    fn reads_the_sessions_the_whole_decode_gives_across_compressed_pieces() {
        let index = index(120_000);
        let bytes = index.encode().expect("encode");
        let mut reader = SessionIndexReader::open(&bytes).expect("open");
        assert!(
            reader.raw_len > 8 << 20,
            "the test needs several 4 MiB pieces"
        );
        assert_eq!(reader.chunks(), index.chunks.as_slice());
        assert_eq!(reader.remaining(), 120_000);
        let read: Vec<SessionSummary> = reader
            .by_ref()
            .collect::<Result<_, _>>()
            .expect("every session");
        assert_eq!(read, index.sessions);
        assert!(reader.next().is_none());
        let empty = SessionIndex::default().encode().expect("encode");
        assert_eq!(SessionIndexReader::open(&empty).expect("open").count(), 0);
    }

    #[test]
    fn damage_is_an_error_and_ends_the_reading() {
        let bytes = index(50).encode().expect("encode");
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x04;
            let failed = match SessionIndexReader::open(&damaged) {
                Err(_) => true,
                Ok(reader) => reader.into_iter().any(|session| session.is_err()),
            };
            assert!(failed, "flip at {position}");
        }
    }

    /// An index whose header promises `claimed` sessions over the body of `actual`.
    fn miscounted(claimed: u64, actual: u64) -> Vec<u8> {
        let whole = index(actual);
        let mut raw =
            bincode::serde::encode_to_vec(&whole.chunks, bincode_config()).expect("chunks");
        raw.extend(bincode::serde::encode_to_vec(claimed, bincode_config()).expect("count"));
        for session in &whole.sessions {
            raw.extend(bincode::serde::encode_to_vec(session, bincode_config()).expect("session"));
        }
        crate::frame::frame_from_raw(SESSION_INDEX_KIND, &raw).expect("frame")
    }

    #[test]
    fn a_body_longer_or_shorter_than_its_count_is_an_error() {
        let too_few = miscounted(3, 5);
        let results: Vec<_> = SessionIndexReader::open(&too_few).expect("open").collect();
        assert_eq!(results.len(), 4);
        assert!(results[..3].iter().all(Result::is_ok));
        assert!(results[3].is_err(), "trailing sessions");
        let too_many = miscounted(u64::MAX, 2);
        let results: Vec<_> = SessionIndexReader::open(&too_many).expect("open").collect();
        assert_eq!(results.len(), 3);
        assert!(results[2].is_err(), "missing sessions");
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let framed = crate::frame::frame_from_raw(SESSION_INDEX_KIND, &body).expect("frame");
            if let Ok(reader) = SessionIndexReader::open(&framed) {
                for session in reader.take(1_000) {
                    if session.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

//! The `.hps` session index: one summary per session of a day, with where its blocks live so a
//! replay fetches only that session's bytes.

use serde::{Deserialize, Serialize};

mod head;

use crate::error::FormatError;
use crate::event::DeviceClass;
use crate::frame::{
    FrameKind, FrameWriter, ITEMS_PER_TASK, bincode_config, decode_frame, encode_into,
    encode_seq_parallel, frame_from_parts, frame_from_raw,
};

pub const SESSION_INDEX_KIND: FrameKind = FrameKind {
    magic: *b"HPSI",
    // Version 5: visitor keys, active time and scroll depth per session and page view.
    version: 5,
    oldest_version: 5,
    name: "session index",
    // The largest file a run writes, rewritten on every run: level 1 writes it 1.4 times as
    // fast as level 3 for 2.4% more bytes (benchmark day: 8.45 against 8.25 MB).
    zstd_level: 1,
};

/// A block holding (some of) a session's batches inside one chunk: what a ranged GET needs.
/// The block may hold other sessions too; a reader keeps the streams of its session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockRef {
    /// The chunk's position in [`SessionIndex::chunks`]: a day's sessions share a few thousand
    /// chunks, so each reference names its chunk by number rather than by key.
    pub chunk: u32,
    /// Offset of the compressed block from the start of the chunk object.
    pub offset: u64,
    pub compressed_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
    pub num_streams: u32,
    /// The session's position among the block's sessions: how a replay finds its streams in a
    /// block that leaves session ids to the chunk header (layout 3).
    pub session: u32,
}

impl BlockRef {
    /// Returns what decoding this block needs to name the streams of session `id`.
    pub fn spec<'a>(&self, id: &'a str) -> crate::chunk::BlockSpec<'a> {
        crate::chunk::BlockSpec {
            compressed_len: self.compressed_len,
            raw_len: self.raw_len,
            crc32: self.crc32,
            num_streams: self.num_streams as usize,
            names: crate::chunk::SessionNames::One {
                position: self.session as usize,
                id,
            },
        }
    }

    /// Returns the byte range of the block within its chunk.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + u64::from(self.compressed_len)
    }
}

/// One page view of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageViewSummary {
    pub index: u32,
    pub url: String,
    pub key: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    /// Time with events: the view's span less every gap of [`crate::activity::INACTIVE_GAP_MS`]
    /// or more between consecutive events.
    pub active_ms: u64,
    /// The deepest page `y` the bottom of the viewport reached (the fold at least).
    pub max_depth_px: u32,
    /// The document's height as the view reported it (largest seen); 0 when unknown.
    pub document_height_px: u32,
    pub frustration: Frustration,
}

impl PageViewSummary {
    /// Returns how deep the view scrolled, in percent of the document (at most 100), or None
    /// when the document height is unknown.
    pub fn scroll_depth_percent(&self) -> Option<f64> {
        (self.document_height_px > 0).then(|| {
            (f64::from(self.max_depth_px) * 100.0 / f64::from(self.document_height_px)).min(100.0)
        })
    }
}

/// Frustration signals counted over a page view or a session (see [`crate::signals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frustration {
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    /// Page views with excessive scrolling.
    pub excessive_scrolls: u64,
    /// Page views left quickly for the page before.
    pub quick_backs: u64,
}

impl Frustration {
    /// The names accepted by [`Frustration::count`], as the session list's filter takes them.
    pub const KINDS: [&'static str; 4] = ["rage", "dead", "excessive_scroll", "quick_back"];

    /// Returns the count of the signal called `kind`, or None for an unknown name.
    pub fn count(&self, kind: &str) -> Option<u64> {
        match kind {
            "rage" => Some(self.rage_clicks),
            "dead" => Some(self.dead_clicks),
            "excessive_scroll" => Some(self.excessive_scrolls),
            "quick_back" => Some(self.quick_backs),
            _ => None,
        }
    }

    /// Returns whether any signal was seen.
    pub fn any(&self) -> bool {
        self.rage_clicks + self.dead_clicks + self.excessive_scrolls + self.quick_backs > 0
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Frustration) {
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        self.excessive_scrolls += other.excessive_scrolls;
        self.quick_backs += other.quick_backs;
    }
}

/// What the session list shows of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    /// The sum of its page views' active time.
    pub active_ms: u64,
    pub device: DeviceClass,
    pub num_clicks: u64,
    pub num_moves: u64,
    pub num_scrolls: u64,
    /// Tags of the session's first page view (`variant=B`, `visitor=returning`…).
    pub tags: Vec<(String, String)>,
    /// The identified visitor's key (see [`crate::event::PageView::visitor_key`]), if any page
    /// view of the session carried one.
    pub visitor_key: Option<String>,
    pub frustration: Frustration,
    pub page_views: Vec<PageViewSummary>,
    pub blocks: Vec<BlockRef>,
}

/// A day's sessions, sorted by start time then id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIndex {
    /// The keys of the chunks the sessions' blocks lie in, sorted.
    pub chunks: Vec<String>,
    pub sessions: Vec<SessionSummary>,
}

impl SessionIndex {
    /// Returns the key of the chunk `block` lies in, or None if the index does not list it.
    pub fn chunk_key(&self, block: &BlockRef) -> Option<&str> {
        self.chunks.get(block.chunk as usize).map(String::as_str)
    }

    /// Returns where each of `session`'s blocks lies: (chunk key, block), skipping any whose
    /// chunk the index does not list.
    pub fn session_blocks(&self, session: &SessionSummary) -> Vec<(String, BlockRef)> {
        session.blocks_in(&self.chunks)
    }

    /// Encodes the index; the sessions, most of a busy day's index, are encoded on the rayon
    /// pool, into the same bytes as a plain encoding of the whole.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut raw = bincode::serde::encode_to_vec(&self.chunks, bincode_config())
            .map_err(|err| FormatError::Encode(err.to_string()))?;
        raw.extend_from_slice(&encode_seq_parallel(&self.sessions)?);
        frame_from_raw(SESSION_INDEX_KIND, &raw)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        decode_frame(SESSION_INDEX_KIND, bytes)
    }
}

/// A session's summary without its blocks, borrowing its strings: what the processor encodes as
/// soon as a session is finished, before the day's chunks are numbered. It serializes like the
/// same fields of [`SessionSummary`], whose last field is its blocks, so a head's bytes followed
/// by the blocks' bytes are the summary's bytes (see [`encode_index_parts`]). Its tags are
/// strings of any kind (`S`), so that the processor can give the ones its views share.
#[derive(Debug, Serialize)]
pub struct SessionHead<'a, S = String> {
    pub id: &'a str,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub active_ms: u64,
    pub device: DeviceClass,
    pub num_clicks: u64,
    pub num_moves: u64,
    pub num_scrolls: u64,
    pub tags: &'a [(S, S)],
    pub visitor_key: Option<&'a str>,
    pub frustration: Frustration,
    pub page_views: Vec<PageViewHead<'a>>,
}

/// A [`PageViewSummary`] borrowing its strings; serializes like it.
#[derive(Debug, Serialize)]
pub struct PageViewHead<'a> {
    pub index: u32,
    pub url: &'a str,
    pub key: &'a str,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub active_ms: u64,
    pub max_depth_px: u32,
    pub document_height_px: u32,
    pub frustration: Frustration,
}

impl SessionSummary {
    /// Returns where each of the session's blocks lies, its chunk named from `chunks` (its
    /// index's chunk table), skipping any whose chunk the table does not list.
    pub fn blocks_in(&self, chunks: &[String]) -> Vec<(String, BlockRef)> {
        self.blocks
            .iter()
            .filter_map(|block| Some((chunks.get(block.chunk as usize)?.clone(), block.clone())))
            .collect()
    }

    /// Returns the summary's head: everything but its blocks.
    pub fn head(&self) -> SessionHead<'_> {
        SessionHead {
            id: &self.id,
            started_at_ms: self.started_at_ms,
            duration_ms: self.duration_ms,
            active_ms: self.active_ms,
            device: self.device,
            num_clicks: self.num_clicks,
            num_moves: self.num_moves,
            num_scrolls: self.num_scrolls,
            tags: &self.tags,
            visitor_key: self.visitor_key.as_deref(),
            frustration: self.frustration,
            page_views: self
                .page_views
                .iter()
                .map(|view| PageViewHead {
                    index: view.index,
                    url: &view.url,
                    key: &view.key,
                    started_at_ms: view.started_at_ms,
                    duration_ms: view.duration_ms,
                    active_ms: view.active_ms,
                    max_depth_px: view.max_depth_px,
                    document_height_px: view.document_height_px,
                    frustration: view.frustration,
                })
                .collect(),
        }
    }
}

/// Encodes a session index from its chunk table and its sessions in index order, each given as
/// its encoded [`SessionHead`] and its blocks: the bytes [`SessionIndex::encode`] gives for the
/// same index, without the summaries ever being built. Their block lists are encoded on the
/// rayon pool; the heads are copied only into the pieces that are compressed.
pub fn encode_index_parts<H: AsRef<[u8]> + Sync>(
    chunks: &[String],
    sessions: &[(H, Vec<BlockRef>)],
) -> Result<Vec<u8>, FormatError> {
    use rayon::prelude::*;
    let mut table = Vec::new();
    encode_into(chunks, &mut table)?;
    encode_into(&(sessions.len() as u64), &mut table)?;
    let blocks: Vec<EncodedBlocks> = sessions
        .par_chunks(ITEMS_PER_TASK)
        .map(|part| EncodedBlocks::of(part.iter().map(|(_, blocks)| blocks)))
        .collect::<Result<_, _>>()?;
    // The body is the heads and block lists end to end, borrowed where they lie: only the
    // frame's pieces copy them (copying the heads into parts first cost a pass over tens of
    // megabytes).
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * sessions.len());
    parts.push(&table);
    for (part, encoded) in sessions.chunks(ITEMS_PER_TASK).zip(&blocks) {
        for ((head, _), blocks) in part.iter().zip(encoded.each()) {
            parts.push(head.as_ref());
            parts.push(blocks);
        }
    }
    frame_from_parts(SESSION_INDEX_KIND, &parts)
}

/// The block lists of consecutive sessions, encoded end to end.
struct EncodedBlocks {
    bytes: Vec<u8>,
    /// Where each session's list ends.
    ends: Vec<usize>,
}

impl EncodedBlocks {
    fn of<'b>(lists: impl Iterator<Item = &'b Vec<BlockRef>>) -> Result<Self, FormatError> {
        let mut encoded = EncodedBlocks {
            bytes: Vec::new(),
            ends: Vec::new(),
        };
        for blocks in lists {
            encode_into(blocks, &mut encoded.bytes)?;
            encoded.ends.push(encoded.bytes.len());
        }
        Ok(encoded)
    }

    /// Each session's encoded list, in order.
    fn each(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

/// Writes a session index one session at a time, compressing as it goes, for a day whose
/// sessions are never all in memory: the bytes [`encode_index_parts`] gives for the same parts.
pub struct SessionIndexWriter {
    frame: FrameWriter,
    expected: u64,
    written: u64,
}

impl SessionIndexWriter {
    /// Starts an index of `num_sessions` sessions whose blocks lie in `chunks`.
    pub fn new(chunks: &[String], num_sessions: u64) -> Result<Self, FormatError> {
        let mut frame = FrameWriter::new(SESSION_INDEX_KIND);
        frame.append_encoded(&chunks)?;
        frame.append_encoded(&num_sessions)?;
        Ok(SessionIndexWriter {
            frame,
            expected: num_sessions,
            written: 0,
        })
    }

    /// Appends the next session, as its encoded [`SessionHead`] and its blocks.
    pub fn push(&mut self, head: &[u8], blocks: &[BlockRef]) -> Result<(), FormatError> {
        self.frame.append(head)?;
        self.frame.append_encoded(&blocks)?;
        self.written += 1;
        Ok(())
    }

    /// Returns the encoded index; an error if it did not get the sessions it was started for.
    pub fn finish(self) -> Result<Vec<u8>, FormatError> {
        if self.written != self.expected {
            return Err(FormatError::Encode(format!(
                "session index started for {} sessions got {}",
                self.expected, self.written
            )));
        }
        self.frame.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode_frame;

    fn summary(number: u32) -> SessionSummary {
        SessionSummary {
            id: format!("session-{number:05}"),
            started_at_ms: 1_763_769_600_000 + i64::from(number) * 1_000,
            duration_ms: u64::from(number % 97) * 1_000,
            active_ms: u64::from(number % 97) * 600,
            device: DeviceClass::Desktop,
            num_clicks: u64::from(number % 7),
            num_moves: u64::from(number % 301),
            num_scrolls: 3,
            tags: vec![("variant".into(), "B".into())],
            visitor_key: number.is_multiple_of(2).then(|| format!("{number:032x}")),
            frustration: Frustration::default(),
            page_views: vec![PageViewSummary {
                index: 0,
                url: "https://shop.example/".into(),
                key: "8ad0f92cee15a265".into(),
                started_at_ms: 0,
                duration_ms: 4_000,
                active_ms: 2_500,
                max_depth_px: 800 + number % 5_000,
                document_height_px: 3_000,
                frustration: Frustration::default(),
            }],
            blocks: vec![BlockRef {
                chunk: number % 2,
                offset: 100,
                compressed_len: 2_000,
                raw_len: 9_000,
                crc32: number,
                num_streams: 12,
                session: number % 3,
            }],
        }
    }

    #[test]
    fn the_parallel_encoding_is_the_plain_one_and_names_chunks_by_number() {
        let index = index_of((0..5_000).map(summary));
        let bytes = index.encode().expect("encode");
        assert_eq!(
            bytes,
            encode_frame(SESSION_INDEX_KIND, &index).expect("plain")
        );
        let decoded = SessionIndex::decode(&bytes).expect("decode");
        assert_eq!(decoded, index);
        let blocks = decoded.session_blocks(&decoded.sessions[3]);
        assert_eq!(blocks[0].0, "raw/b.hpc");
        let mut unknown = decoded.sessions[3].clone();
        unknown.blocks[0].chunk = 9;
        assert!(decoded.session_blocks(&unknown).is_empty());
    }

    /// An index of `sessions` whose blocks lie in two chunks.
    fn index_of(sessions: impl Iterator<Item = SessionSummary>) -> SessionIndex {
        SessionIndex {
            chunks: vec!["raw/a.hpc".into(), "raw/b.hpc".into()],
            sessions: sessions.collect(),
        }
    }

    /// Sessions with no views and blocks, one of each, and two of each.
    fn varied_summary(number: u32) -> SessionSummary {
        let mut session = summary(number);
        match number % 3 {
            0 => {
                session.page_views.clear();
                session.blocks.clear();
                session.tags.clear();
            }
            1 => {
                let mut next = session.page_views[0].clone();
                next.index = 1;
                next.url.push_str("cart");
                next.frustration.rage_clicks = 2;
                session.page_views.push(next);
                let mut block = session.blocks[0].clone();
                block.offset = 50_000;
                session.blocks.push(block);
            }
            _ => {}
        }
        session
    }

    #[test]
    fn an_index_encoded_from_heads_and_blocks_is_the_plain_encoding() {
        // Enough sessions for several encoding tasks and several compressed pieces.
        let index = index_of((0..60_000).map(varied_summary));
        let parts: Vec<(Vec<u8>, Vec<BlockRef>)> = index
            .sessions
            .iter()
            .map(|session| {
                let head = session.head().encode();
                (head, session.blocks.clone())
            })
            .collect();
        let whole = index.encode().expect("whole");
        let raw_len = u32::from_le_bytes([whole[6], whole[7], whole[8], whole[9]]);
        assert!(raw_len > 4 << 20, "the body spans pieces: {raw_len} bytes");
        assert_eq!(
            encode_index_parts(&index.chunks, &parts).expect("parts"),
            whole
        );
    }

    #[test]
    fn an_index_written_one_session_at_a_time_is_the_plain_encoding() {
        let index = index_of((0..60_000).map(varied_summary));
        let whole = index.encode().expect("whole");
        let raw_len = u32::from_le_bytes([whole[6], whole[7], whole[8], whole[9]]);
        assert!(raw_len > 4 << 20, "the body spans pieces: {raw_len} bytes");
        let mut writer =
            SessionIndexWriter::new(&index.chunks, index.sessions.len() as u64).expect("start");
        for session in &index.sessions {
            let head = session.head().encode();
            writer.push(&head, &session.blocks).expect("push");
        }
        assert_eq!(writer.finish().expect("finish"), whole);
        let short = SessionIndexWriter::new(&index.chunks, 2).expect("start");
        assert!(short.finish().is_err(), "two sessions promised, none given");
    }

    #[test]
    fn an_index_from_before_session_positions_is_refused_with_a_clear_error() {
        for version in [2u16, 3] {
            let mut bytes = SessionIndex::default().encode().expect("encode");
            bytes[4..6].copy_from_slice(&version.to_le_bytes());
            let err = SessionIndex::decode(&bytes).expect_err("older version");
            assert!(err.to_string().contains("process the day again"), "{err}");
        }
    }
}

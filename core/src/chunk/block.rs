//! The inside of one block: every field of every stream in a column of its own, each column a
//! run of varints compressed as its own zstd frame.
//!
//! ```text
//! num_columns | (compressed_len, raw_len) × num_columns | zstd frame × num_columns
//! ```
//! Columns, in order: the string table (URLs, selectors, tags; session ids before layout 3), then
//! one column per stream field (session, batch, page view, URL, viewport and document sizes,
//! device, start, tags, event counts), then one per event field (move t/x/y; click
//! t/x/y/selector/inside; scroll t/y; resize t/width/height), then (layout 2) the pointer's jump
//! x/y and trail t, then (layout 3) the move counts, then (layout 4) visitor keys and click
//! reactions. Every value is zig-zag coded as its
//! difference from a prediction (see [`super::predict`]): starts from the previous stream's,
//! times and coordinates from the previous event of the same kind, pointer positions from their
//! trail, click positions from the pointer. Separate frames matter: each column gets its own
//! entropy tables, so a column of ~50 ms time deltas is not coded with the statistics of
//! coordinate deltas.
//!
//! The number of columns names the layout:
//! - 27, layout 1: every stream predicted from zero.
//! - 30, layout 2: a batch continues the predictions of the previous batch of its page view when
//!   it follows it in the block, and the pointer is coded as trails and jumps.
//! - 31, layout 3: as layout 2, but session ids are left to the chunk header (they were stored
//!   twice, 10% of a chunk) and the session column says how a stream follows the one before;
//!   the next batch of a page view stores only its event counts; move counts have a column of
//!   their own.
//! - 33, layout 4 (this build writes it; see [`super::write`]): as layout 3, plus each page
//!   view's visitor key (an index into the string table) and what the page did after each click.
//!
//! A block decodes without the chunk's header: a replay that fetches one block by a session
//! index reference knows its session's id and position among the block's sessions (see
//! [`super::SessionNames`]).

use crate::codec::{Reader, put_uvarint};

/// The columns of a block, in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(super) enum Column {
    Strings,
    Session,
    BatchSeq,
    PageView,
    Url,
    ViewportWidth,
    ViewportHeight,
    DocumentWidth,
    DocumentHeight,
    Device,
    StartedAt,
    TagCount,
    Tags,
    EventCounts,
    MoveT,
    MoveX,
    MoveY,
    ClickT,
    ClickX,
    ClickY,
    ClickSelector,
    ClickInside,
    ScrollT,
    ScrollY,
    ResizeT,
    ResizeWidth,
    ResizeHeight,
    MoveJumpX,
    MoveJumpY,
    MoveTrailT,
    /// Layout 3's move counts (its [`Column::EventCounts`] holds the other kinds' counts).
    MoveCounts,
    /// Layout 4: each stream's visitor key, as 1 + its index in the string table (0: none).
    VisitorKey,
    /// Layout 4: what the page did after each click ([`crate::event::ClickReaction`]'s code).
    ClickReaction,
}

/// Columns of a block this build writes (layout 4).
pub(super) const NUM_COLUMNS: usize = Column::ClickReaction as usize + 1;
/// Columns of a layout 3 block: every column up to [`Column::MoveCounts`].
pub(super) const LAYOUT_3_COLUMNS: usize = Column::MoveCounts as usize + 1;
/// Columns of a layout 2 block: every column up to [`Column::MoveTrailT`].
pub(super) const LAYOUT_2_COLUMNS: usize = Column::MoveTrailT as usize + 1;
/// Columns of a layout 1 block: every column up to [`Column::ResizeHeight`].
pub(super) const LAYOUT_1_COLUMNS: usize = Column::ResizeHeight as usize + 1;

/// Compresses each column as its own zstd frame behind a table of sizes; returns the block's
/// bytes and its total uncompressed size.
pub fn compress_columns(columns: &[Vec<u8>], zstd_level: i32) -> std::io::Result<(Vec<u8>, usize)> {
    let mut table = Vec::new();
    let mut frames = Vec::new();
    put_uvarint(&mut table, columns.len() as u64);
    for column in columns {
        let frame = if column.is_empty() {
            Vec::new()
        } else {
            zstd::bulk::compress(column, zstd_level)?
        };
        put_uvarint(&mut table, frame.len() as u64);
        put_uvarint(&mut table, column.len() as u64);
        frames.push(frame);
    }
    let raw_len = columns.iter().map(Vec::len).sum();
    table.extend(frames.into_iter().flatten());
    Ok((table, raw_len))
}

thread_local! {
    /// One zstd decompression context per thread: creating one per column costs more than
    /// decompressing a small column.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Column buffers a thread keeps for its next blocks, at most.
const POOLED_BUFFERS: usize = 2 * NUM_COLUMNS;

thread_local! {
    /// Column buffers given back after decoding: a day's blocks reuse the same memory instead
    /// of the allocator returning it to the system and the kernel zeroing it again.
    static COLUMN_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives decoded columns' buffers back to this thread's pool.
pub fn recycle_columns(columns: impl IntoIterator<Item = Vec<u8>>) {
    COLUMN_BUFFERS.with(|cell| {
        let mut pool = cell.borrow_mut();
        for mut column in columns {
            if pool.len() < POOLED_BUFFERS && column.capacity() > 0 {
                column.clear();
                pool.push(column);
            }
        }
    });
}

/// Decompresses one zstd frame of at most `max` bytes with this thread's context, into a buffer
/// from this thread's pool sized by the frame's stated content size (frames that state none get
/// `max`): a header is a few kilobytes, and a buffer of the most a header may take is megabytes
/// the allocator maps and unmaps for each one.
pub(crate) fn decompress_bounded(frame: &[u8], max: usize) -> std::io::Result<Vec<u8>> {
    let stated = zstd::zstd_safe::get_frame_content_size(frame)
        .map_err(|_| std::io::Error::other("not a zstd frame"))?;
    let capacity = match stated {
        Some(size) if size > max as u64 => {
            return Err(std::io::Error::other(format!(
                "frame holds {size} bytes, more than {max}"
            )));
        }
        Some(size) => size as usize,
        None => max,
    };
    decompress_frame(frame, capacity)
}

/// Decompresses one zstd frame of at most `capacity` bytes with this thread's context, into a
/// buffer from this thread's pool.
fn decompress_frame(frame: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    let mut buffer = COLUMN_BUFFERS
        .with(|cell| cell.borrow_mut().pop())
        .unwrap_or_default();
    buffer.clear();
    buffer.reserve(capacity);
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(decompressor) => decompressor,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress_to_buffer(frame, &mut buffer)
    })?;
    Ok(buffer)
}

/// Names of the columns, in storage order (layout 4; layouts 1, 2 and 3 have the first 27, 30
/// and 31).
const COLUMN_NAMES: [&str; NUM_COLUMNS] = [
    "strings",
    "session",
    "batch seq",
    "page view",
    "url",
    "viewport width",
    "viewport height",
    "document width",
    "document height",
    "device",
    "started at",
    "tag count",
    "tags",
    "event counts",
    "move t",
    "move x",
    "move y",
    "click t",
    "click x",
    "click y",
    "click selector",
    "click inside",
    "scroll t",
    "scroll y",
    "resize t",
    "resize width",
    "resize height",
    "move jump x",
    "move jump y",
    "move trail t",
    "move counts",
    "visitor key",
    "click reaction",
];

/// Returns each column's name and compressed and raw sizes, read from a block's size table
/// without decompressing anything (for storage reports).
pub fn column_sizes(block: &[u8]) -> Result<Vec<(&'static str, usize, usize)>, String> {
    let sizes = read_size_table(&mut Reader::new(block), None)?;
    Ok(COLUMN_NAMES
        .iter()
        .zip(sizes)
        .map(|(name, (compressed, raw))| (*name, compressed, raw))
        .collect())
}

/// Reads a block's column count and size table; with `raw_len`, refuses raw sizes that do not add
/// up to it.
fn read_size_table(
    reader: &mut Reader<'_>,
    raw_len: Option<usize>,
) -> Result<Vec<(usize, usize)>, String> {
    let count = reader.count("column count").map_err(|e| e.to_string())?;
    if ![
        LAYOUT_1_COLUMNS,
        LAYOUT_2_COLUMNS,
        LAYOUT_3_COLUMNS,
        NUM_COLUMNS,
    ]
    .contains(&count)
    {
        return Err(format!(
            "block has {count} columns, expected {LAYOUT_1_COLUMNS}, {LAYOUT_2_COLUMNS}, \
             {LAYOUT_3_COLUMNS} or {NUM_COLUMNS}"
        ));
    }
    let mut sizes = Vec::with_capacity(count);
    let mut total_raw = 0usize;
    for _ in 0..count {
        let compressed = reader.count("column size").map_err(|e| e.to_string())?;
        let raw = reader
            .uvarint("column raw size")
            .map_err(|e| e.to_string())?;
        total_raw = usize::try_from(raw)
            .ok()
            .and_then(|r| total_raw.checked_add(r))
            .filter(|t| raw_len.is_none_or(|limit| *t <= limit))
            .ok_or("columns are larger than the block says")?;
        sizes.push((compressed, raw as usize));
    }
    if raw_len.is_some_and(|expected| total_raw != expected) {
        return Err("column sizes do not add up to the block's size".into());
    }
    Ok(sizes)
}

/// Decompresses a block's columns, refusing a total above `raw_len`.
pub fn decompress_columns(block: &[u8], raw_len: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = Reader::new(block);
    let sizes = read_size_table(&mut reader, Some(raw_len))?;
    let count = sizes.len();
    let mut columns = Vec::with_capacity(count);
    for (compressed, raw) in sizes {
        let frame = reader
            .take(compressed, "column")
            .map_err(|e| e.to_string())?;
        let column = if compressed == 0 && raw == 0 {
            Vec::new()
        } else {
            decompress_frame(frame, raw).map_err(|e| format!("zstd: {e}"))?
        };
        if column.len() != raw {
            return Err("column decompresses to another size".into());
        }
        columns.push(column);
    }
    if reader.remaining() != 0 {
        return Err("trailing bytes after the last column".into());
    }
    Ok(columns)
}

//! A block's columns → its streams, borrowed: every event of the block goes into one flat
//! buffer per kind and every string points into the block's string table, so decoding costs a
//! handful of allocations per block and none per event or per stream.
//!
//! The whole block is decoded and checked before anyone sees a stream, so a damaged block is
//! refused whole, never half counted.

use std::ops::Range;

use super::block::{Column, LAYOUT_1_COLUMNS, NUM_COLUMNS};
use super::predict::{Delta, Delta2, EventState};
use crate::codec::{CodecError, Reader};
use crate::event::{DeviceClass, Move, PERMYRIAD_MAX, Resize, Scroll, Stream, TargetPoint};
use crate::stream_ref::{ClickRef, PageRef, StreamRef};

/// A stream's fields and where its tags and events lie in the block's buffers.
#[derive(Debug, Clone)]
struct Head {
    session: usize,
    batch_seq: u64,
    page_view_index: u32,
    url: usize,
    viewport_width_px: u32,
    viewport_height_px: u32,
    document_width_px: u32,
    document_height_px: u32,
    device: DeviceClass,
    started_at_ms: i64,
    tags: Range<usize>,
    moves: Range<usize>,
    clicks: Range<usize>,
    scrolls: Range<usize>,
    resizes: Range<usize>,
}

/// A decoded block: its streams, borrowing from the block's columns.
#[derive(Debug, Default)]
pub struct BlockStreams<'c> {
    strings: Vec<&'c str>,
    heads: Vec<Head>,
    tags: Vec<(&'c str, &'c str)>,
    moves: Vec<Move>,
    clicks: Vec<ClickRef<'c>>,
    scrolls: Vec<Scroll>,
    resizes: Vec<Resize>,
}

impl<'c> BlockStreams<'c> {
    /// Returns how many streams the block holds.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Returns the streams in block order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = StreamRef<'_>> + '_ {
        self.heads.iter().map(|head| self.stream(head))
    }

    fn stream<'s>(&'s self, head: &Head) -> StreamRef<'s> {
        StreamRef {
            session_id: self.strings[head.session],
            batch_seq: head.batch_seq,
            page_view_index: head.page_view_index,
            page: PageRef {
                url: self.strings[head.url],
                viewport_width_px: head.viewport_width_px,
                viewport_height_px: head.viewport_height_px,
                document_width_px: head.document_width_px,
                document_height_px: head.document_height_px,
                device: head.device,
                started_at_ms: head.started_at_ms,
                tags: &self.tags[head.tags.clone()],
            },
            moves: &self.moves[head.moves.clone()],
            clicks: &self.clicks[head.clicks.clone()],
            scrolls: &self.scrolls[head.scrolls.clone()],
            resizes: &self.resizes[head.resizes.clone()],
        }
    }

    fn string(&self, index: u64) -> Result<usize, CodecError> {
        usize::try_from(index)
            .ok()
            .filter(|i| *i < self.strings.len())
            .ok_or(CodecError::OutOfRange {
                what: "string index",
                value: index,
            })
    }
}

/// Decodes a block's uncompressed columns into its streams, owned.
pub fn decode_columns(columns: &[Vec<u8>]) -> Result<Vec<Stream>, CodecError> {
    Ok(decode_streams(columns)?
        .iter()
        .map(|stream| stream.to_stream())
        .collect())
}

/// Decodes a block's uncompressed columns into its streams, borrowed from `columns`.
pub fn decode_streams(columns: &[Vec<u8>]) -> Result<BlockStreams<'_>, CodecError> {
    let layout = match columns.len() {
        LAYOUT_1_COLUMNS => Layout::PerStream,
        NUM_COLUMNS => Layout::PerPageView,
        _ => {
            return Err(CodecError::OutOfRange {
                what: "column count",
                value: columns.len() as u64,
            });
        }
    };
    let mut block = BlockStreams::default();
    let mut table = Reader::new(&columns[Column::Strings as usize]);
    let num_strings = table.count("string count")?;
    block.strings.reserve(num_strings);
    for _ in 0..num_strings {
        block.strings.push(table.str("string")?);
    }
    if table.remaining() != 0 {
        return Err(CodecError::OutOfRange {
            what: "bytes after the string table",
            value: table.remaining() as u64,
        });
    }
    let mut readers: Vec<Reader<'_>> = columns.iter().map(|c| Reader::new(c)).collect();
    reserve_events(&mut block, &readers);
    let mut previous_start = 0i64;
    let mut state = EventState::default();
    // Every stream has exactly one entry in the session column.
    while readers[Column::Session as usize].remaining() > 0 {
        let (head, counts) = decode_head(&mut block, &mut readers, &mut previous_start)?;
        let continues = layout == Layout::PerPageView
            && block.heads.last().is_some_and(|before| {
                before.session == head.session && before.page_view_index == head.page_view_index
            });
        if !continues {
            state = EventState::default();
        }
        let head = decode_events(&mut block, head, counts, &mut readers, layout, &mut state)?;
        block.heads.push(head);
    }
    if readers.iter().skip(1).any(|r| r.remaining() != 0) {
        return Err(CodecError::OutOfRange {
            what: "unread column bytes",
            value: 0,
        });
    }
    Ok(block)
}

/// How a block's predictions run (see [`super::block`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Layout 1: every stream starts from zero; pointer coordinates are second-order deltas.
    PerStream,
    /// Layout 2: a batch continues its page view's predictions; the pointer moves in trails and
    /// jumps.
    PerPageView,
}

/// Reserves each event buffer for as many events as its time column could hold (one byte each
/// at least), so the buffers rarely regrow.
fn reserve_events(block: &mut BlockStreams<'_>, readers: &[Reader<'_>]) {
    let room = |column: Column| readers[column as usize].remaining();
    block.moves.reserve(room(Column::MoveT));
    block.clicks.reserve(room(Column::ClickT));
    block.scrolls.reserve(room(Column::ScrollT));
    block.resizes.reserve(room(Column::ResizeT));
}

type EventCounts = [usize; 4];

fn read(readers: &mut [Reader<'_>], column: Column, what: &'static str) -> Result<u64, CodecError> {
    readers[column as usize].uvarint(what)
}

fn read_u32(
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<u32, CodecError> {
    readers[column as usize].u32(what)
}

fn decode_head(
    block: &mut BlockStreams<'_>,
    readers: &mut [Reader<'_>],
    previous_start: &mut i64,
) -> Result<(Head, EventCounts), CodecError> {
    let session = block.string(read(readers, Column::Session, "session id")?)?;
    let batch_seq = read(readers, Column::BatchSeq, "batch seq")?;
    let page_view_index = read_u32(readers, Column::PageView, "page view index")?;
    let url = block.string(read(readers, Column::Url, "url")?)?;
    let viewport_width_px = read_u32(readers, Column::ViewportWidth, "viewport width")?;
    let viewport_height_px = read_u32(readers, Column::ViewportHeight, "viewport height")?;
    let document_width_px = read_u32(readers, Column::DocumentWidth, "document width")?;
    let document_height_px = read_u32(readers, Column::DocumentHeight, "document height")?;
    let device_code = read(readers, Column::Device, "device")?;
    let device = DeviceClass::from_code(device_code).ok_or(CodecError::OutOfRange {
        what: "device",
        value: device_code,
    })?;
    *previous_start =
        previous_start.wrapping_add(readers[Column::StartedAt as usize].ivarint("started at")?);
    let tags = decode_tags(block, readers)?;
    let mut counts = [0usize; 4];
    for count in &mut counts {
        let value = read(readers, Column::EventCounts, "event count")?;
        *count = usize::try_from(value)
            .ok()
            .filter(|c| *c <= 1 << 32)
            .ok_or(CodecError::OutOfRange {
                what: "event count",
                value,
            })?;
    }
    let head = Head {
        session,
        batch_seq,
        page_view_index,
        url,
        viewport_width_px,
        viewport_height_px,
        document_width_px,
        document_height_px,
        device,
        started_at_ms: *previous_start,
        tags,
        moves: 0..0,
        clicks: 0..0,
        scrolls: 0..0,
        resizes: 0..0,
    };
    Ok((head, counts))
}

fn decode_tags(
    block: &mut BlockStreams<'_>,
    readers: &mut [Reader<'_>],
) -> Result<Range<usize>, CodecError> {
    let num_tags = readers[Column::TagCount as usize].uvarint("tag count")?;
    let tags_reader = &mut readers[Column::Tags as usize];
    if num_tags > tags_reader.remaining() as u64 {
        return Err(CodecError::OutOfRange {
            what: "tag count",
            value: num_tags,
        });
    }
    let start = block.tags.len();
    for _ in 0..num_tags {
        let key = block.strings[block.string(tags_reader.uvarint("tag key")?)?];
        let value = block.strings[block.string(tags_reader.uvarint("tag value")?)?];
        block.tags.push((key, value));
    }
    Ok(start..block.tags.len())
}

fn narrow<T: TryFrom<i64>>(value: i64, what: &'static str) -> Result<T, CodecError> {
    T::try_from(value).map_err(|_| CodecError::OutOfRange {
        what,
        value: value as u64,
    })
}

fn residual(
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<i64, CodecError> {
    readers[column as usize].ivarint(what)
}

fn delta<T: TryFrom<i64>>(
    state: &mut Delta,
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<T, CodecError> {
    narrow(state.restore(residual(readers, column, what)?), what)
}

/// Checks that `count` events could fit in their time column (each takes a byte at least).
fn check_count(count: usize, readers: &[Reader<'_>], column: Column) -> Result<(), CodecError> {
    if count > readers[column as usize].remaining() {
        return Err(CodecError::Truncated {
            what: "event column",
        });
    }
    Ok(())
}

fn decode_events(
    block: &mut BlockStreams<'_>,
    mut head: Head,
    [num_moves, num_clicks, num_scrolls, num_resizes]: EventCounts,
    readers: &mut [Reader<'_>],
    layout: Layout,
    state: &mut EventState,
) -> Result<Head, CodecError> {
    check_count(num_moves, readers, Column::MoveT)?;
    let start = block.moves.len();
    match layout {
        Layout::PerStream => decode_moves_per_stream(block, num_moves, readers)?,
        Layout::PerPageView => decode_trail(block, num_moves, readers, state)?,
    }
    head.moves = start..block.moves.len();

    check_count(num_clicks, readers, Column::ClickT)?;
    let start = block.clicks.len();
    let mut next_move = 0;
    for _ in 0..num_clicks {
        let t = state
            .click_t
            .restore(residual(readers, Column::ClickT, "click t")?);
        let x_residual = residual(readers, Column::ClickX, "click x")?;
        let y_residual = residual(readers, Column::ClickY, "click y")?;
        let (x, y) = match layout {
            Layout::PerStream => (
                state.click_x.restore(x_residual),
                state.click_y.restore(y_residual),
            ),
            Layout::PerPageView => {
                state
                    .aim
                    .follow(&block.moves[head.moves.clone()], &mut next_move, t);
                state.aim.restore(x_residual, y_residual)
            }
        };
        let (t_ms, x, y) = (
            narrow(t, "click t")?,
            narrow(x, "click x")?,
            narrow(y, "click y")?,
        );
        let selector =
            block.strings[block.string(read(readers, Column::ClickSelector, "click selector")?)?];
        let inside = decode_inside(read(readers, Column::ClickInside, "click inside")?)?;
        block.clicks.push(ClickRef {
            t_ms,
            x,
            y,
            selector,
            inside,
        });
    }
    head.clicks = start..block.clicks.len();

    check_count(num_scrolls, readers, Column::ScrollT)?;
    let start = block.scrolls.len();
    for _ in 0..num_scrolls {
        let t_ms = delta(&mut state.scroll_t, readers, Column::ScrollT, "scroll t")?;
        let y = delta(&mut state.scroll_y, readers, Column::ScrollY, "scroll y")?;
        block.scrolls.push(Scroll { t_ms, y });
    }
    head.scrolls = start..block.scrolls.len();

    check_count(num_resizes, readers, Column::ResizeT)?;
    let start = block.resizes.len();
    for _ in 0..num_resizes {
        let t_ms = delta(&mut state.resize_t, readers, Column::ResizeT, "resize t")?;
        let width_px = delta(
            &mut state.resize_width,
            readers,
            Column::ResizeWidth,
            "resize width",
        )?;
        let height_px = delta(
            &mut state.resize_height,
            readers,
            Column::ResizeHeight,
            "resize height",
        )?;
        block.resizes.push(Resize {
            t_ms,
            width_px,
            height_px,
        });
    }
    head.resizes = start..block.resizes.len();
    Ok(head)
}

/// Layout 1's moves: time deltas and second-order coordinate deltas, from zero in every stream.
fn decode_moves_per_stream(
    block: &mut BlockStreams<'_>,
    num_moves: usize,
    readers: &mut [Reader<'_>],
) -> Result<(), CodecError> {
    let (mut t, [mut x, mut y]) = (Delta::default(), [Delta2::default(); 2]);
    for _ in 0..num_moves {
        let t_ms = delta(&mut t, readers, Column::MoveT, "move t")?;
        let x = narrow(
            x.restore(residual(readers, Column::MoveX, "move x")?),
            "move x",
        )?;
        let y = narrow(
            y.restore(residual(readers, Column::MoveY, "move y")?),
            "move y",
        )?;
        block.moves.push(Move { t_ms, x, y });
    }
    Ok(())
}

/// Layout 2's moves: the page view's pointer trail, each position read from the trail or the
/// jump columns as its time says.
fn decode_trail(
    block: &mut BlockStreams<'_>,
    num_moves: usize,
    readers: &mut [Reader<'_>],
    state: &mut EventState,
) -> Result<(), CodecError> {
    for _ in 0..num_moves {
        let (t_ms, jump) = state
            .moves
            .restore_t(residual(readers, Column::MoveT, "move t")?);
        let (x_column, y_column) = if jump {
            (Column::MoveJumpX, Column::MoveJumpY)
        } else {
            (Column::MoveX, Column::MoveY)
        };
        let (x, y) = state.moves.restore_xy(
            residual(readers, x_column, "move x")?,
            residual(readers, y_column, "move y")?,
        );
        block.moves.push(Move {
            t_ms: narrow(t_ms, "move t")?,
            x: narrow(x, "move x")?,
            y: narrow(y, "move y")?,
        });
    }
    Ok(())
}

fn decode_inside(code: u64) -> Result<Option<TargetPoint>, CodecError> {
    if code == 0 {
        return Ok(None);
    }
    let stride = u64::from(PERMYRIAD_MAX) + 1;
    let (x, y) = ((code - 1) / stride, (code - 1) % stride);
    if x > u64::from(PERMYRIAD_MAX) {
        return Err(CodecError::OutOfRange {
            what: "click inside",
            value: code,
        });
    }
    Ok(Some(TargetPoint {
        x_permyriad: x as u16,
        y_permyriad: y as u16,
    }))
}

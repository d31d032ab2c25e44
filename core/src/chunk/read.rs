//! A block's columns → its streams, borrowed: every event of the block goes into one flat
//! buffer per kind and every string points into the block's string table, so decoding costs a
//! handful of allocations per block and none per event or per stream (and a thread's blocks
//! reuse the event buffers, see `buffers`).
//!
//! The whole block is decoded and checked before anyone sees a stream, so a damaged block is
//! refused whole, never half counted. Layout 3 blocks leave session ids to the chunk header:
//! [`SessionNames`] says where the caller knows them from.

use std::ops::Range;

mod buffers;
mod events;
mod names;

use self::events::{EventCounts, decode_events, move_time_room, room};
pub use self::names::SessionNames;
use super::block::{Column, LAYOUT_1_COLUMNS, LAYOUT_2_COLUMNS, LAYOUT_3_COLUMNS, NUM_COLUMNS};
use super::predict::EventState;
use super::write::StreamKind;
use crate::codec::{CodecError, Reader};
use crate::event::{DeviceClass, Move, Resize, Scroll, Stream};
use crate::stream_ref::{ClickRef, PageRef, StreamRef};

/// A stream's fields and where its tags and events lie in the block's buffers.
#[derive(Debug, Clone)]
pub(super) struct Head {
    /// Where the session's id lies in [`BlockStreams::sessions`].
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
    /// Where the visitor key lies in the string table, if the page view has one.
    visitor_key: Option<usize>,
    moves: Range<usize>,
    clicks: Range<usize>,
    scrolls: Range<usize>,
    resizes: Range<usize>,
}

/// A decoded block: its streams, borrowing from the block's columns.
#[derive(Debug, Default)]
pub struct BlockStreams<'c> {
    strings: Vec<&'c str>,
    /// Session ids: the string table itself in layouts 1 and 2, the block's sessions in order
    /// in layout 3.
    sessions: Vec<&'c str>,
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
            session_id: self.sessions[head.session],
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
                visitor_key: head.visitor_key.map(|index| self.strings[index]),
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
pub fn decode_columns(
    columns: &[Vec<u8>],
    names: SessionNames<'_>,
) -> Result<Vec<Stream>, CodecError> {
    let streams = decode_streams(columns, names)?;
    let owned = streams.iter().map(|stream| stream.to_stream()).collect();
    streams.recycle();
    Ok(owned)
}

/// Decodes a block's uncompressed columns into its streams, borrowed from `columns` (and from
/// `names` for a layout 3 block's session ids).
pub fn decode_streams<'c>(
    columns: &'c [Vec<u8>],
    names: SessionNames<'c>,
) -> Result<BlockStreams<'c>, CodecError> {
    let layout = match columns.len() {
        LAYOUT_1_COLUMNS => Layout::PerStream,
        LAYOUT_2_COLUMNS => Layout::PerPageView,
        // Layout 4 adds visitor keys and click reactions to layout 3's columns.
        LAYOUT_3_COLUMNS | NUM_COLUMNS => Layout::HeaderNamed,
        _ => {
            return Err(CodecError::OutOfRange {
                what: "column count",
                value: columns.len() as u64,
            });
        }
    };
    let mut block = BlockStreams::with_kept_buffers();
    read_string_table(&mut block, &columns[Column::Strings as usize])?;
    let mut readers: Vec<Reader<'_>> = columns.iter().map(|c| Reader::new(c)).collect();
    reserve_events(&mut block, &readers);
    let mut previous_start = 0i64;
    let mut state = EventState::default();
    // Every stream has exactly one entry in the session column.
    while readers[Column::Session as usize].remaining() > 0 {
        let (head, counts) = match layout {
            Layout::HeaderNamed => {
                decode_named_head(&mut block, &mut readers, &mut previous_start)?
            }
            _ => decode_inline_head(&mut block, &mut readers, &mut previous_start)?,
        };
        let continues = layout != Layout::PerStream
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
    match layout {
        Layout::HeaderNamed => names::name_sessions(&mut block, names)?,
        _ => block.sessions = block.strings.clone(),
    }
    Ok(block)
}

/// Reads the block's string table (its strings column, read whole) into `block.strings`.
fn read_string_table<'c>(block: &mut BlockStreams<'c>, column: &'c [u8]) -> Result<(), CodecError> {
    let mut table = Reader::new(column);
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
    Ok(())
}

/// How a block's predictions run (see [`super::block`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Layout 1: every stream starts from zero; pointer coordinates are second-order deltas.
    PerStream,
    /// Layout 2: a batch continues its page view's predictions; the pointer moves in trails and
    /// jumps.
    PerPageView,
    /// Layouts 3 and 4: events as layout 2; session ids in the chunk header, next batches stored as
    /// their event counts alone.
    HeaderNamed,
}

/// Reserves each event buffer for as many events as its time column could hold (one byte each
/// at least), so the buffers rarely regrow.
fn reserve_events(block: &mut BlockStreams<'_>, readers: &[Reader<'_>]) {
    // Every stream takes a byte of the session column at least.
    block.heads.reserve(room(readers, Column::Session));
    block.moves.reserve(move_time_room(readers));
    block.clicks.reserve(room(readers, Column::ClickT));
    block.scrolls.reserve(room(readers, Column::ScrollT));
    block.resizes.reserve(room(readers, Column::ResizeT));
}

pub(super) fn read(
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<u64, CodecError> {
    readers[column as usize].uvarint(what)
}

fn read_u32(
    readers: &mut [Reader<'_>],
    column: Column,
    what: &'static str,
) -> Result<u32, CodecError> {
    readers[column as usize].u32(what)
}

/// A layout 1 or 2 stream's head: its session id is in the string table.
fn decode_inline_head(
    block: &mut BlockStreams<'_>,
    readers: &mut [Reader<'_>],
    previous_start: &mut i64,
) -> Result<(Head, EventCounts), CodecError> {
    let session = block.string(read(readers, Column::Session, "session id")?)?;
    let head = decode_fields(block, readers, session, previous_start)?;
    let mut counts = [0usize; 4];
    for count in &mut counts {
        *count = read_count(readers, Column::EventCounts)?;
    }
    Ok((head, counts))
}

/// A layout 3 stream's head: how it follows the stream before, then its fields unless it is
/// that stream's next batch.
fn decode_named_head(
    block: &mut BlockStreams<'_>,
    readers: &mut [Reader<'_>],
    previous_start: &mut i64,
) -> Result<(Head, EventCounts), CodecError> {
    let code = read(readers, Column::Session, "stream kind")?;
    let kind = StreamKind::from_code(code).ok_or(CodecError::OutOfRange {
        what: "stream kind",
        value: code,
    })?;
    let before = block.heads.last();
    let head = match (kind, before) {
        (StreamKind::NextSession, _) => {
            let session = before.map_or(0, |head| head.session + 1);
            decode_fields(block, readers, session, previous_start)?
        }
        (StreamKind::SameSession, Some(before)) => {
            let session = before.session;
            decode_fields(block, readers, session, previous_start)?
        }
        (StreamKind::NextBatch, Some(before)) => Head {
            batch_seq: before
                .batch_seq
                .checked_add(1)
                .ok_or(CodecError::OutOfRange {
                    what: "batch seq",
                    value: before.batch_seq,
                })?,
            ..before.clone()
        },
        (_, None) => {
            return Err(CodecError::OutOfRange {
                what: "first stream's kind",
                value: code,
            });
        }
    };
    let mut counts = [read_count(readers, Column::MoveCounts)?, 0, 0, 0];
    for count in &mut counts[1..] {
        *count = read_count(readers, Column::EventCounts)?;
    }
    Ok((head, counts))
}

fn read_count(readers: &mut [Reader<'_>], column: Column) -> Result<usize, CodecError> {
    let value = read(readers, column, "event count")?;
    usize::try_from(value)
        .ok()
        .filter(|c| *c <= 1 << 32)
        .ok_or(CodecError::OutOfRange {
            what: "event count",
            value,
        })
}

/// A stream's page fields, for a stream of `session`; its events are placed later.
fn decode_fields(
    block: &mut BlockStreams<'_>,
    readers: &mut [Reader<'_>],
    session: usize,
    previous_start: &mut i64,
) -> Result<Head, CodecError> {
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
    let visitor_key = decode_visitor_key(block, readers)?;
    Ok(Head {
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
        visitor_key,
        moves: 0..0,
        clicks: 0..0,
        scrolls: 0..0,
        resizes: 0..0,
    })
}

/// A page view's visitor key: its column from layout 4 on (older layouts had none).
fn decode_visitor_key(
    block: &BlockStreams<'_>,
    readers: &mut [Reader<'_>],
) -> Result<Option<usize>, CodecError> {
    if readers.len() <= Column::VisitorKey as usize {
        return Ok(None);
    }
    match read(readers, Column::VisitorKey, "visitor key")? {
        0 => Ok(None),
        index => {
            let string = block.string(index - 1)?;
            if !crate::event::validate_visitor_key(block.strings[string]) {
                return Err(CodecError::OutOfRange {
                    what: "visitor key",
                    value: index,
                });
            }
            Ok(Some(string))
        }
    }
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

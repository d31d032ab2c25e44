//! A block's streams → its uncompressed columns, in layout 4 (see [`super::block`]): the
//! counterpart of [`super::read`].
//!
//! The session column holds each stream's [`StreamKind`] rather than its session's id: the chunk
//! header names the block's sessions in block order, so the id was stored twice.

use std::collections::HashMap;

use super::block::{Column, NUM_COLUMNS};
use super::predict::EventState;
use crate::codec::{put_bytes, put_ivarint, put_uvarint};
use crate::event::{PERMYRIAD_MAX, Stream};

/// How a layout 3 stream follows the one before it in the block: the value of its session column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(super) enum StreamKind {
    /// The next batch of the previous stream's page view (sequence number one higher, the page
    /// exactly the same): only its event counts are stored. The tracker cuts a page view into a
    /// batch every few seconds, so this is most streams.
    NextBatch = 0,
    /// Another batch of the previous stream's session: every field is stored.
    SameSession = 1,
    /// The first batch of the block's next session: every field is stored.
    NextSession = 2,
}

impl StreamKind {
    /// How `stream` follows `previous` (None for the block's first stream).
    fn of(previous: Option<&Stream>, stream: &Stream) -> Self {
        match previous {
            Some(before) if before.session_id == stream.session_id => {
                let next_batch = before.page_view_index == stream.page_view_index
                    && before.batch_seq.checked_add(1) == Some(stream.batch_seq)
                    && before.page == stream.page;
                if next_batch {
                    StreamKind::NextBatch
                } else {
                    StreamKind::SameSession
                }
            }
            _ => StreamKind::NextSession,
        }
    }

    pub(super) fn from_code(code: u64) -> Option<Self> {
        [
            StreamKind::NextBatch,
            StreamKind::SameSession,
            StreamKind::NextSession,
        ]
        .into_iter()
        .find(|kind| *kind as u64 == code)
    }
}

/// One growing varint column per [`Column`].
struct Columns([Vec<u8>; NUM_COLUMNS]);

impl Columns {
    fn u(&mut self, column: Column, value: u64) {
        put_uvarint(&mut self.0[column as usize], value);
    }

    fn i(&mut self, column: Column, value: i64) {
        put_ivarint(&mut self.0[column as usize], value);
    }
}

/// Assigns each distinct string an index, in order of first use.
#[derive(Default)]
struct StringTable<'a> {
    indexes: HashMap<&'a str, u64>,
    strings: Vec<&'a str>,
}

impl<'a> StringTable<'a> {
    fn intern(&mut self, value: &'a str) -> u64 {
        *self.indexes.entry(value).or_insert_with(|| {
            self.strings.push(value);
            (self.strings.len() - 1) as u64
        })
    }

    fn into_column(self) -> Vec<u8> {
        let mut table = Vec::new();
        put_uvarint(&mut table, self.strings.len() as u64);
        for value in &self.strings {
            put_bytes(&mut table, value.as_bytes());
        }
        table
    }
}

/// Encodes `streams`, in the order given (each session's streams together), into a block's
/// uncompressed columns (layout 4).
pub fn encode_columns(streams: &[&Stream]) -> Vec<Vec<u8>> {
    let mut strings = StringTable::default();
    let mut columns = Columns(std::array::from_fn(|_| Vec::new()));
    let mut previous_start = 0i64;
    let mut state = EventState::default();
    let mut previous: Option<&Stream> = None;
    for stream in streams {
        if !previous.is_some_and(|before| continues(before, stream)) {
            state = EventState::default();
        }
        let kind = StreamKind::of(previous, stream);
        columns.u(Column::Session, kind as u64);
        if kind != StreamKind::NextBatch {
            encode_stream_fields(stream, &mut strings, &mut previous_start, &mut columns);
        }
        columns.u(Column::MoveCounts, stream.moves.len() as u64);
        for count in [
            stream.clicks.len(),
            stream.scrolls.len(),
            stream.resizes.len(),
        ] {
            columns.u(Column::EventCounts, count as u64);
        }
        encode_events(stream, &mut strings, &mut state, &mut columns);
        previous = Some(stream);
    }
    columns.0[Column::Strings as usize] = strings.into_column();
    columns.0.into_iter().collect()
}

/// Whether `next` is a later batch of `previous`'s page view, so that it continues its
/// predictions (layouts 2 and 3).
fn continues(previous: &Stream, next: &Stream) -> bool {
    previous.session_id == next.session_id && previous.page_view_index == next.page_view_index
}

/// A stream's own fields, but for its session and event counts.
fn encode_stream_fields<'a>(
    stream: &'a Stream,
    strings: &mut StringTable<'a>,
    previous_start: &mut i64,
    columns: &mut Columns,
) {
    let page = &stream.page;
    columns.u(Column::BatchSeq, stream.batch_seq);
    columns.u(Column::PageView, u64::from(stream.page_view_index));
    columns.u(Column::Url, strings.intern(&page.url));
    columns.u(Column::ViewportWidth, u64::from(page.viewport_width_px));
    columns.u(Column::ViewportHeight, u64::from(page.viewport_height_px));
    columns.u(Column::DocumentWidth, u64::from(page.document_width_px));
    columns.u(Column::DocumentHeight, u64::from(page.document_height_px));
    columns.u(Column::Device, page.device.to_code());
    columns.i(
        Column::StartedAt,
        page.started_at_ms.wrapping_sub(*previous_start),
    );
    *previous_start = page.started_at_ms;
    columns.u(Column::TagCount, page.tags.len() as u64);
    for (key, value) in &page.tags {
        columns.u(Column::Tags, strings.intern(key));
        columns.u(Column::Tags, strings.intern(value));
    }
    let visitor_key = page
        .visitor_key
        .as_deref()
        .map_or(0, |key| 1 + strings.intern(key));
    columns.u(Column::VisitorKey, visitor_key);
}

/// Each event of `stream` as its miss from `state`'s predictions, into `columns`.
fn encode_events<'a>(
    stream: &'a Stream,
    strings: &mut StringTable<'a>,
    state: &mut EventState,
    columns: &mut Columns,
) {
    encode_moves(stream, state, columns);
    encode_clicks(stream, strings, state, columns);
    for event in &stream.scrolls {
        columns.i(
            Column::ScrollT,
            state.scroll_t.residual(i64::from(event.t_ms)),
        );
        columns.i(Column::ScrollY, state.scroll_y.residual(i64::from(event.y)));
    }
    for event in &stream.resizes {
        columns.i(
            Column::ResizeT,
            state.resize_t.residual(i64::from(event.t_ms)),
        );
        columns.i(
            Column::ResizeWidth,
            state.resize_width.residual(i64::from(event.width_px)),
        );
        columns.i(
            Column::ResizeHeight,
            state.resize_height.residual(i64::from(event.height_px)),
        );
    }
}

/// Each move's miss from its trail's prediction, into the trail or the jump columns.
fn encode_moves(stream: &Stream, state: &mut EventState, columns: &mut Columns) {
    for event in &stream.moves {
        let residual = state.moves.residual(
            i64::from(event.t_ms),
            i64::from(event.x),
            i64::from(event.y),
        );
        let t = if residual.t_on_trail {
            Column::MoveTrailT
        } else {
            Column::MoveT
        };
        columns.i(t, residual.t);
        let (x, y) = if residual.jump {
            (Column::MoveJumpX, Column::MoveJumpY)
        } else {
            (Column::MoveX, Column::MoveY)
        };
        columns.i(x, residual.x);
        columns.i(y, residual.y);
    }
}

/// Each click: its time, its position as a miss from where the stream's moves had the pointer,
/// its selector and where inside the target it landed.
fn encode_clicks<'a>(
    stream: &'a Stream,
    strings: &mut StringTable<'a>,
    state: &mut EventState,
    columns: &mut Columns,
) {
    let mut next_move = 0;
    for event in &stream.clicks {
        let t = i64::from(event.t_ms);
        columns.i(Column::ClickT, state.click_t.residual(t));
        state.aim.follow(&stream.moves, &mut next_move, t);
        let (x, y) = state.aim.residual(i64::from(event.x), i64::from(event.y));
        columns.i(Column::ClickX, x);
        columns.i(Column::ClickY, y);
        columns.u(Column::ClickSelector, strings.intern(&event.selector));
        let inside = event.inside.map_or(0, |point| {
            1 + u64::from(point.x_permyriad) * (u64::from(PERMYRIAD_MAX) + 1)
                + u64::from(point.y_permyriad)
        });
        columns.u(Column::ClickInside, inside);
        columns.u(Column::ClickReaction, event.reaction.to_code());
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::event::{DeviceClass, PageView};

    /// A stream with no events on a fixed page, for block tests.
    pub(in crate::chunk) fn stream(session: &str, page_view_index: u32, batch_seq: u64) -> Stream {
        Stream {
            session_id: session.into(),
            batch_seq,
            page_view_index,
            page: PageView {
                url: "https://a.example/".into(),
                viewport_width_px: 1280,
                viewport_height_px: 800,
                document_width_px: 1280,
                document_height_px: 3000,
                device: DeviceClass::Desktop,
                started_at_ms: 1_800_000_000_000,
                tags: vec![("variant".into(), "B".into())],
                visitor_key: None,
            },
            moves: vec![],
            clicks: vec![],
            scrolls: vec![],
            resizes: vec![],
        }
    }

    #[test]
    fn a_stream_is_a_next_batch_only_when_nothing_but_its_sequence_and_events_changed() {
        let first = stream("s1", 0, 0);
        assert_eq!(StreamKind::of(None, &first), StreamKind::NextSession);
        assert_eq!(
            StreamKind::of(Some(&first), &stream("s1", 0, 1)),
            StreamKind::NextBatch
        );
        let mut grown = stream("s1", 0, 1);
        grown.page.document_height_px = 4000;
        let cases = [
            (grown, "the document grew"),
            (stream("s1", 0, 2), "a batch was lost"),
            (stream("s1", 0, 0), "the same batch again"),
            (stream("s1", 1, 1), "the next page view"),
        ];
        for (next, case) in cases {
            assert_eq!(
                StreamKind::of(Some(&first), &next),
                StreamKind::SameSession,
                "{case}"
            );
        }
        assert_eq!(
            StreamKind::of(Some(&first), &stream("s2", 0, 1)),
            StreamKind::NextSession
        );
        let last = stream("s1", 0, u64::MAX);
        assert_eq!(
            StreamKind::of(Some(&last), &stream("s1", 0, 0)),
            StreamKind::SameSession,
            "the sequence does not wrap"
        );
    }

    #[test]
    fn session_ids_stay_out_of_the_block_and_next_batches_store_only_counts() {
        let streams = [stream("session-a", 0, 0), stream("session-a", 0, 1)];
        let refs: Vec<&Stream> = streams.iter().collect();
        let columns = encode_columns(&refs);
        let strings = String::from_utf8_lossy(&columns[Column::Strings as usize]).into_owned();
        assert!(!strings.contains("session-a"), "{strings:?}");
        assert!(strings.contains("https://a.example/"), "{strings:?}");
        assert_eq!(columns[Column::Session as usize], [2, 0]);
        assert_eq!(
            columns[Column::BatchSeq as usize],
            [0],
            "one stream's fields"
        );
        assert_eq!(columns[Column::MoveCounts as usize], [0, 0]);
        assert_eq!(columns[Column::EventCounts as usize], [0; 6]);
    }
}

//! The baseline our chunk format is measured against: a plain column layout, as anyone would
//! first write it. One column per field, each value stored as its difference from the previous
//! value of the same field in the same stream (starting from zero in every stream), zig-zag
//! varints, each column compressed as its own zstd frame at our chunk level. Text (session ids,
//! URLs, tags, click selectors) goes to one newline-separated column, which zstd deduplicates.
//!
//! What it leaves out, and ours does: predictions carried from one batch of a page view to the
//! next, pointer trails predicted along their direction, click positions from the pointer, a
//! string table, session ids once per chunk, and separate columns for trail and jump statistics.

use heatpipe_core::chunk::DEFAULT_ZSTD_LEVEL;
use heatpipe_core::codec::{put_ivarint, put_uvarint};
use heatpipe_core::event::Stream;

/// The plain layout's columns.
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
enum Column {
    Text,
    Batch,
    Sizes,
    StartedAt,
    Counts,
    MoveT,
    MoveX,
    MoveY,
    ClickT,
    ClickX,
    ClickY,
    ClickInside,
    ScrollT,
    ScrollY,
    ResizeT,
    ResizeSize,
}

const NUM_COLUMNS: usize = Column::ResizeSize as usize + 1;

/// A field's previous value in the stream.
#[derive(Default)]
struct Delta(i64);

impl Delta {
    fn next(&mut self, value: impl Into<i64>) -> i64 {
        let value = value.into();
        let delta = value - self.0;
        self.0 = value;
        delta
    }
}

/// The bytes `streams` take in the plain layout, as one chunk.
pub fn plain_chunk_bytes(streams: &[Stream]) -> std::io::Result<usize> {
    let mut total = 0;
    for column in plain_columns(streams).iter().filter(|c| !c.is_empty()) {
        total += zstd::bulk::compress(column, DEFAULT_ZSTD_LEVEL)?.len();
    }
    Ok(total)
}

/// The plain layout's uncompressed columns, in [`Column`] order.
fn plain_columns(streams: &[Stream]) -> Vec<Vec<u8>> {
    let mut columns = vec![Vec::new(); NUM_COLUMNS];
    for stream in streams {
        encode_stream(stream, &mut columns);
    }
    columns
}

fn encode_stream(stream: &Stream, columns: &mut [Vec<u8>]) {
    let mut text = |value: &str| {
        columns[Column::Text as usize].extend_from_slice(value.as_bytes());
        columns[Column::Text as usize].push(b'\n');
    };
    text(&stream.session_id);
    text(&stream.page.url);
    for (key, value) in &stream.page.tags {
        text(&format!("{key}={value}"));
    }
    for click in &stream.clicks {
        text(&click.selector);
    }
    let page = &stream.page;
    put_uvarint(&mut columns[Column::Batch as usize], stream.batch_seq);
    put_uvarint(
        &mut columns[Column::Batch as usize],
        stream.page_view_index.into(),
    );
    for size in [
        page.viewport_width_px,
        page.viewport_height_px,
        page.document_width_px,
        page.document_height_px,
    ] {
        put_uvarint(&mut columns[Column::Sizes as usize], size.into());
    }
    put_uvarint(&mut columns[Column::Sizes as usize], page.device as u64);
    put_ivarint(&mut columns[Column::StartedAt as usize], page.started_at_ms);
    for count in [
        stream.moves.len(),
        stream.clicks.len(),
        stream.scrolls.len(),
        stream.resizes.len(),
        page.tags.len(),
    ] {
        put_uvarint(&mut columns[Column::Counts as usize], count as u64);
    }
    encode_events(stream, columns);
}

fn encode_events(stream: &Stream, columns: &mut [Vec<u8>]) {
    let mut put = |column: Column, value: i64| put_ivarint(&mut columns[column as usize], value);
    let (mut t, mut x, mut y) = (Delta::default(), Delta::default(), Delta::default());
    for event in &stream.moves {
        put(Column::MoveT, t.next(event.t_ms));
        put(Column::MoveX, x.next(event.x));
        put(Column::MoveY, y.next(event.y));
    }
    let (mut t, mut x, mut y) = (Delta::default(), Delta::default(), Delta::default());
    for event in &stream.clicks {
        put(Column::ClickT, t.next(event.t_ms));
        put(Column::ClickX, x.next(event.x));
        put(Column::ClickY, y.next(event.y));
        let inside = event.inside.map_or([0, 0], |point| {
            [point.x_permyriad + 1, point.y_permyriad + 1].map(i64::from)
        });
        for value in inside {
            put(Column::ClickInside, value);
        }
    }
    let (mut t, mut y) = (Delta::default(), Delta::default());
    for event in &stream.scrolls {
        put(Column::ScrollT, t.next(event.t_ms));
        put(Column::ScrollY, y.next(event.y));
    }
    let (mut t, mut width, mut height) = (Delta::default(), Delta::default(), Delta::default());
    for event in &stream.resizes {
        put(Column::ResizeT, t.next(event.t_ms));
        put(Column::ResizeSize, width.next(event.width_px));
        put(Column::ResizeSize, height.next(event.height_px));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_fixtures::SessionBuilder;

    #[test]
    fn every_stream_starts_from_zero_and_each_value_is_its_delta() {
        let streams = SessionBuilder::new("s1", "https://shop.example/", 1_000)
            .moves(&[(0, 10, 20), (50, 13, 18)])
            .click(70, 13, 18, "#buy")
            .scroll(90, 300)
            .next_page("https://shop.example/cart", 5_000)
            .moves(&[(40, 7, 9)])
            .build();
        let columns = plain_columns(&streams);
        // Zig-zag varints: 0 → 0, 10 → 20, 3 → 6, -2 → 3, 50 → 100, 70 → 140 = [0x8c, 0x01].
        assert_eq!(columns[Column::MoveT as usize], [0, 100, 80]);
        assert_eq!(columns[Column::MoveX as usize], [20, 6, 14]);
        assert_eq!(columns[Column::MoveY as usize], [40, 3, 18]);
        assert_eq!(columns[Column::ClickT as usize], [140, 1]);
        assert_eq!(columns[Column::ScrollY as usize], [216, 4]);
        let text = String::from_utf8(columns[Column::Text as usize].clone()).expect("utf-8");
        assert_eq!(
            text,
            "s1\nhttps://shop.example/\n#buy\ns1\nhttps://shop.example/cart\n"
        );
        let compressed = plain_chunk_bytes(&streams).expect("compress");
        let raw: usize = columns.iter().map(Vec::len).sum();
        assert!(
            compressed > raw,
            "tiny columns gain nothing: {compressed} vs {raw}"
        );
    }
}

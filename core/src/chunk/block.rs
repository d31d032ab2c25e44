//! The raw (pre-zstd) layout of one block: a string table, per-stream metadata, then one
//! varint column per event field.
//!
//! ```text
//! num_streams | strings (count, then length-prefixed UTF-8) | stream metadata × num_streams
//!   (session id, batch, page view, URL, sizes, device, start, tags, event counts)
//! | 13 columns, each length-prefixed:
//!   move t, move x, move y, click t, click x, click y, click selector, click inside,
//!   scroll t, scroll y, resize t, resize width, resize height
//! ```
//! Times and coordinates are deltas from the previous event of the same kind in the same stream
//! (starting from 0), zig-zag encoded, so a mouse trail costs one or two bytes per field before
//! zstd. Columns keep like with like, which is what zstd compresses best.

use std::collections::HashMap;

use crate::codec::{CodecError, Reader, put_bytes, put_ivarint, put_uvarint};
use crate::event::{
    Click, DeviceClass, Move, PERMYRIAD_MAX, PageView, Resize, Scroll, Stream, TargetPoint,
};

const NUM_COLUMNS: usize = 13;
const MOVE_T: usize = 0;
const MOVE_X: usize = 1;
const MOVE_Y: usize = 2;
const CLICK_T: usize = 3;
const CLICK_X: usize = 4;
const CLICK_Y: usize = 5;
const CLICK_SELECTOR: usize = 6;
const CLICK_INSIDE: usize = 7;
const SCROLL_T: usize = 8;
const SCROLL_Y: usize = 9;
const RESIZE_T: usize = 10;
const RESIZE_W: usize = 11;
const RESIZE_H: usize = 12;

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
}

/// Delta state for one column within one stream.
#[derive(Default, Clone, Copy)]
struct Delta(i64);

impl Delta {
    fn put(&mut self, out: &mut Vec<u8>, value: i64) {
        put_ivarint(out, value.wrapping_sub(self.0));
        self.0 = value;
    }

    fn read(&mut self, reader: &mut Reader<'_>, what: &'static str) -> Result<i64, CodecError> {
        self.0 = self.0.wrapping_add(reader.ivarint(what)?);
        Ok(self.0)
    }
}

/// Encodes `streams` into a block's raw bytes, in the order given.
pub fn encode_block(streams: &[&Stream]) -> Vec<u8> {
    let mut strings = StringTable::default();
    let mut meta = Vec::new();
    let mut columns: [Vec<u8>; NUM_COLUMNS] = Default::default();
    let mut previous_start = 0i64;
    for stream in streams {
        encode_meta(stream, &mut strings, &mut previous_start, &mut meta);
        encode_events(stream, &mut strings, &mut columns);
    }
    let mut out = Vec::with_capacity(meta.len() + columns.iter().map(Vec::len).sum::<usize>() + 64);
    put_uvarint(&mut out, streams.len() as u64);
    put_uvarint(&mut out, strings.strings.len() as u64);
    for value in &strings.strings {
        put_bytes(&mut out, value.as_bytes());
    }
    out.extend_from_slice(&meta);
    for column in &columns {
        put_bytes(&mut out, column);
    }
    out
}

fn encode_meta<'a>(
    stream: &'a Stream,
    strings: &mut StringTable<'a>,
    previous_start: &mut i64,
    out: &mut Vec<u8>,
) {
    let page = &stream.page;
    put_uvarint(out, strings.intern(&stream.session_id));
    put_uvarint(out, stream.batch_seq);
    put_uvarint(out, u64::from(stream.page_view_index));
    put_uvarint(out, strings.intern(&page.url));
    for value in [
        page.viewport_width_px,
        page.viewport_height_px,
        page.document_width_px,
        page.document_height_px,
    ] {
        put_uvarint(out, u64::from(value));
    }
    put_uvarint(out, page.device.to_code());
    put_ivarint(out, page.started_at_ms.wrapping_sub(*previous_start));
    *previous_start = page.started_at_ms;
    put_uvarint(out, page.tags.len() as u64);
    for (key, value) in &page.tags {
        put_uvarint(out, strings.intern(key));
        put_uvarint(out, strings.intern(value));
    }
    for count in [
        stream.moves.len(),
        stream.clicks.len(),
        stream.scrolls.len(),
        stream.resizes.len(),
    ] {
        put_uvarint(out, count as u64);
    }
}

fn encode_events<'a>(
    stream: &'a Stream,
    strings: &mut StringTable<'a>,
    columns: &mut [Vec<u8>; NUM_COLUMNS],
) {
    let [mut t, mut x, mut y] = [Delta::default(); 3];
    for event in &stream.moves {
        t.put(&mut columns[MOVE_T], i64::from(event.t_ms));
        x.put(&mut columns[MOVE_X], i64::from(event.x));
        y.put(&mut columns[MOVE_Y], i64::from(event.y));
    }
    let [mut t, mut x, mut y] = [Delta::default(); 3];
    for event in &stream.clicks {
        t.put(&mut columns[CLICK_T], i64::from(event.t_ms));
        x.put(&mut columns[CLICK_X], i64::from(event.x));
        y.put(&mut columns[CLICK_Y], i64::from(event.y));
        put_uvarint(
            &mut columns[CLICK_SELECTOR],
            strings.intern(&event.selector),
        );
        let inside = event.inside.map_or(0, |point| {
            1 + u64::from(point.x_permyriad) * (u64::from(PERMYRIAD_MAX) + 1)
                + u64::from(point.y_permyriad)
        });
        put_uvarint(&mut columns[CLICK_INSIDE], inside);
    }
    let [mut t, mut y] = [Delta::default(); 2];
    for event in &stream.scrolls {
        t.put(&mut columns[SCROLL_T], i64::from(event.t_ms));
        y.put(&mut columns[SCROLL_Y], i64::from(event.y));
    }
    let [mut t, mut w, mut h] = [Delta::default(); 3];
    for event in &stream.resizes {
        t.put(&mut columns[RESIZE_T], i64::from(event.t_ms));
        w.put(&mut columns[RESIZE_W], i64::from(event.width_px));
        h.put(&mut columns[RESIZE_H], i64::from(event.height_px));
    }
}

/// Decodes a block's raw bytes into its streams.
pub fn decode_block_raw(raw: &[u8]) -> Result<Vec<Stream>, CodecError> {
    let mut reader = Reader::new(raw);
    let num_streams = reader.count("stream count")?;
    let num_strings = reader.count("string count")?;
    let mut strings = Vec::with_capacity(num_strings);
    for _ in 0..num_strings {
        strings.push(reader.str("string")?);
    }
    let lookup = |index: u64| -> Result<String, CodecError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| strings.get(i))
            .map(|s| (*s).to_owned())
            .ok_or(CodecError::OutOfRange {
                what: "string index",
                value: index,
            })
    };
    let mut streams = Vec::with_capacity(num_streams);
    let mut counts = Vec::with_capacity(num_streams);
    let mut previous_start = 0i64;
    for _ in 0..num_streams {
        let (stream, stream_counts) = decode_meta(&mut reader, &lookup, &mut previous_start)?;
        streams.push(stream);
        counts.push(stream_counts);
    }
    let mut columns = Vec::with_capacity(NUM_COLUMNS);
    for _ in 0..NUM_COLUMNS {
        columns.push(Reader::new(reader.bytes("column")?));
    }
    for (stream, stream_counts) in streams.iter_mut().zip(&counts) {
        decode_events(stream, *stream_counts, &mut columns, &lookup)?;
    }
    Ok(streams)
}

type EventCounts = [usize; 4];

fn decode_meta(
    reader: &mut Reader<'_>,
    lookup: &impl Fn(u64) -> Result<String, CodecError>,
    previous_start: &mut i64,
) -> Result<(Stream, EventCounts), CodecError> {
    let session_id = lookup(reader.uvarint("session id")?)?;
    let batch_seq = reader.uvarint("batch seq")?;
    let page_view_index = reader.u32("page view index")?;
    let url = lookup(reader.uvarint("url")?)?;
    let viewport_width_px = reader.u32("viewport width")?;
    let viewport_height_px = reader.u32("viewport height")?;
    let document_width_px = reader.u32("document width")?;
    let document_height_px = reader.u32("document height")?;
    let device_code = reader.uvarint("device")?;
    let device = DeviceClass::from_code(device_code).ok_or(CodecError::OutOfRange {
        what: "device",
        value: device_code,
    })?;
    *previous_start = previous_start.wrapping_add(reader.ivarint("started at")?);
    let num_tags = reader.count("tag count")?;
    let mut tags = Vec::with_capacity(num_tags);
    for _ in 0..num_tags {
        let key = lookup(reader.uvarint("tag key")?)?;
        tags.push((key, lookup(reader.uvarint("tag value")?)?));
    }
    let mut counts = [0usize; 4];
    for count in &mut counts {
        *count = reader.count("event count")?;
    }
    let page = PageView {
        url,
        viewport_width_px,
        viewport_height_px,
        document_width_px,
        document_height_px,
        device,
        started_at_ms: *previous_start,
        tags,
    };
    let stream = Stream {
        session_id,
        batch_seq,
        page_view_index,
        page,
        moves: Vec::new(),
        clicks: Vec::new(),
        scrolls: Vec::new(),
        resizes: Vec::new(),
    };
    Ok((stream, counts))
}

fn narrow<T: TryFrom<i64>>(value: i64, what: &'static str) -> Result<T, CodecError> {
    T::try_from(value).map_err(|_| CodecError::OutOfRange {
        what,
        value: value as u64,
    })
}

fn decode_events(
    stream: &mut Stream,
    [num_moves, num_clicks, num_scrolls, num_resizes]: EventCounts,
    columns: &mut [Reader<'_>],
    lookup: &impl Fn(u64) -> Result<String, CodecError>,
) -> Result<(), CodecError> {
    let [mut t, mut x, mut y] = [Delta::default(); 3];
    stream
        .moves
        .reserve(num_moves.min(columns[MOVE_T].remaining()));
    for _ in 0..num_moves {
        stream.moves.push(Move {
            t_ms: narrow(t.read(&mut columns[MOVE_T], "move t")?, "move t")?,
            x: narrow(x.read(&mut columns[MOVE_X], "move x")?, "move x")?,
            y: narrow(y.read(&mut columns[MOVE_Y], "move y")?, "move y")?,
        });
    }
    let [mut t, mut x, mut y] = [Delta::default(); 3];
    stream
        .clicks
        .reserve(num_clicks.min(columns[CLICK_T].remaining()));
    for _ in 0..num_clicks {
        let t_ms = narrow(t.read(&mut columns[CLICK_T], "click t")?, "click t")?;
        let x = narrow(x.read(&mut columns[CLICK_X], "click x")?, "click x")?;
        let y = narrow(y.read(&mut columns[CLICK_Y], "click y")?, "click y")?;
        let selector = lookup(columns[CLICK_SELECTOR].uvarint("click selector")?)?;
        let inside = decode_inside(columns[CLICK_INSIDE].uvarint("click inside")?)?;
        stream.clicks.push(Click {
            t_ms,
            x,
            y,
            selector,
            inside,
        });
    }
    let [mut t, mut y] = [Delta::default(); 2];
    stream
        .scrolls
        .reserve(num_scrolls.min(columns[SCROLL_T].remaining()));
    for _ in 0..num_scrolls {
        stream.scrolls.push(Scroll {
            t_ms: narrow(t.read(&mut columns[SCROLL_T], "scroll t")?, "scroll t")?,
            y: narrow(y.read(&mut columns[SCROLL_Y], "scroll y")?, "scroll y")?,
        });
    }
    let [mut t, mut w, mut h] = [Delta::default(); 3];
    stream
        .resizes
        .reserve(num_resizes.min(columns[RESIZE_T].remaining()));
    for _ in 0..num_resizes {
        stream.resizes.push(Resize {
            t_ms: narrow(t.read(&mut columns[RESIZE_T], "resize t")?, "resize t")?,
            width_px: narrow(
                w.read(&mut columns[RESIZE_W], "resize width")?,
                "resize width",
            )?,
            height_px: narrow(
                h.read(&mut columns[RESIZE_H], "resize height")?,
                "resize height",
            )?,
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

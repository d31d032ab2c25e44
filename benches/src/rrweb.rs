//! Our streams as the rrweb recorder would have emitted them: a Meta event per page view, then
//! IncrementalSnapshot events — mouse moves batched per 500 ms with `timeOffset`, clicks, scrolls
//! and resizes — each with an absolute `timestamp`. Used to compare storage cost with rrweb JSON
//! + gzip. The DOM snapshots rrweb also records are left out, which only favours rrweb.

use heatpipe_core::event::Stream;
use serde_json::{Value, json};

/// rrweb flushes buffered mouse positions this often.
const MOUSE_BATCH_MS: u32 = 500;

/// Returns the rrweb events of `stream`; `with_meta` adds the page view's Meta event first.
pub fn rrweb_events(stream: &Stream, with_meta: bool) -> Vec<Value> {
    let start = stream.page.started_at_ms;
    let mut events: Vec<(i64, Value)> = Vec::new();
    if with_meta {
        events.push((start, json!({"type": 4, "data": {"href": stream.page.url, "width": stream.page.viewport_width_px, "height": stream.page.viewport_height_px}, "timestamp": start})));
    }
    for group in stream
        .moves
        .chunk_by(|a, b| a.t_ms / MOUSE_BATCH_MS == b.t_ms / MOUSE_BATCH_MS)
    {
        let flushed_at = start + i64::from(group[group.len() - 1].t_ms);
        let positions: Vec<Value> = group
            .iter()
            .map(|m| json!({"x": m.x, "y": m.y, "id": 42, "timeOffset": start + i64::from(m.t_ms) - flushed_at}))
            .collect();
        events.push((flushed_at, json!({"type": 3, "data": {"source": 1, "positions": positions}, "timestamp": flushed_at})));
    }
    for click in &stream.clicks {
        let at = start + i64::from(click.t_ms);
        events.push((at, json!({"type": 3, "data": {"source": 2, "type": 2, "id": 42, "x": click.x, "y": click.y}, "timestamp": at})));
    }
    for scroll in &stream.scrolls {
        let at = start + i64::from(scroll.t_ms);
        events.push((at, json!({"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": scroll.y}, "timestamp": at})));
    }
    for resize in &stream.resizes {
        let at = start + i64::from(resize.t_ms);
        events.push((at, json!({"type": 3, "data": {"source": 4, "width": resize.width_px, "height": resize.height_px}, "timestamp": at})));
    }
    events.sort_by_key(|(at, _)| *at);
    events.into_iter().map(|(_, event)| event).collect()
}

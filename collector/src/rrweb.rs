//! Converts events exactly as rrweb's recorder emits them into heatpipe streams.
//!
//! - Meta (type 4: `href`, `width`, `height` of the viewport) starts a page view.
//! - FullSnapshot (type 2) names the document node (`data.node.id`) and the window scroll
//!   (`data.initialOffset`); before any FullSnapshot the document node is 1, as rrweb numbers it.
//! - IncrementalSnapshot (type 3): source 1 MouseMove and 6 TouchMove (`positions[]`, each at
//!   `timestamp + timeOffset`), source 2 MouseInteraction type 2 Click (`x`, `y`, node `id`),
//!   source 3 Scroll of the document node (other ids are inner scroll containers), source 4
//!   ViewportResize.
//! - Custom (type 5) with tag `heatpipe/page` and payload `{"height": N}` gives the document height,
//!   which rrweb never records.
//!
//! rrweb `x`/`y` are viewport coordinates; page coordinates add the current window scroll. The
//! state that carries across batches (open page view, scroll offset, document node) lives in
//! [`RrwebSession`]. Everything else rrweb emits is accepted and ignored.

use heatpipe_core::event::{
    Click, ClickReaction, DeviceClass, Move, PageView, Resize, Scroll, Stream,
};
use heatpipe_core::page::normalize_url;
use heatpipe_core::wire::{WireError, WireLimits, integer_in};
use serde::Deserialize;
use serde_json::Value;

const META: u64 = 4;
const FULL_SNAPSHOT: u64 = 2;
const INCREMENTAL: u64 = 3;
const CUSTOM: u64 = 5;
const SOURCE_MOUSE_MOVE: u64 = 1;
const SOURCE_MOUSE_INTERACTION: u64 = 2;
const SOURCE_SCROLL: u64 = 3;
const SOURCE_VIEWPORT_RESIZE: u64 = 4;
const SOURCE_TOUCH_MOVE: u64 = 6;
const INTERACTION_CLICK: u64 = 2;
/// rrweb numbers the document node 1 when no FullSnapshot says otherwise.
const DEFAULT_DOCUMENT_NODE_ID: i64 = 1;

/// One rrweb event: `{"type": 3, "data": {…}, "timestamp": 1763…}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RrwebEvent {
    #[serde(rename = "type")]
    pub kind: u64,
    #[serde(default)]
    pub data: Value,
    pub timestamp: f64,
}

/// The page view a session is on, with what rrweb told us so far.
#[derive(Debug, Clone)]
struct OpenPage {
    index: u32,
    view: PageView,
    document_node_id: i64,
    scroll: (i64, i64),
}

/// What carries from one rrweb batch of a session to the next.
#[derive(Debug, Clone, Default)]
pub struct RrwebSession {
    next_page_view: u32,
    page: Option<OpenPage>,
}

fn field_i64(value: &Value, name: &str, what: &str) -> Result<i64, WireError> {
    let number = value
        .get(name)
        .and_then(Value::as_f64)
        .ok_or_else(|| WireError(format!("{what}: missing number `{name}`")))?;
    integer_in(number, -(1 << 40), 1 << 40, &format!("{what} `{name}`"))
}

/// Reads a viewport or document dimension (1..=100000 px) named `name`.
fn dimension(data: &Value, name: &str, what: &str) -> Result<u32, WireError> {
    let value = data.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN);
    integer_in(value, 1, 100_000, &format!("{what} {name}")).map(|v| v as u32)
}

fn clamp_i32(value: i64) -> i32 {
    value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Streams being filled by one batch: one per page view the batch touches.
struct BatchStreams<'a> {
    session_id: &'a str,
    streams: Vec<Stream>,
}

impl BatchStreams<'_> {
    fn for_page(&mut self, page: &OpenPage, timestamp_ms: i64) -> &mut Stream {
        let reuse = self
            .streams
            .last()
            .is_some_and(|s| s.page_view_index == page.index);
        if !reuse {
            self.streams.push(Stream {
                session_id: self.session_id.to_owned(),
                // rrweb batches carry no sequence number; the first event's time identifies a
                // batch, so a retried batch repeats it.
                batch_seq: timestamp_ms.max(0) as u64,
                page_view_index: page.index,
                page: page.view.clone(),
                moves: Vec::new(),
                clicks: Vec::new(),
                scrolls: Vec::new(),
                resizes: Vec::new(),
            });
        }
        let last = self.streams.len() - 1;
        let stream = &mut self.streams[last];
        stream.page = page.view.clone();
        stream
    }
}

impl RrwebSession {
    /// Converts one batch of `events` of `session_id`, updating the session's state.
    pub fn convert(
        &mut self,
        session_id: &str,
        events: &[RrwebEvent],
        limits: &WireLimits,
    ) -> Result<Vec<Stream>, WireError> {
        if events.len() > limits.max_events_per_batch {
            return Err(WireError(format!(
                "batch has {} events; at most {} are accepted",
                events.len(),
                limits.max_events_per_batch
            )));
        }
        let mut out = BatchStreams {
            session_id,
            streams: Vec::new(),
        };
        for (index, event) in events.iter().enumerate() {
            let what = format!("events[{index}]");
            let timestamp = integer_in(event.timestamp, 0, 1 << 45, &format!("{what} timestamp"))?;
            if event.kind == META {
                self.start_page(&event.data, timestamp, limits, &what)?;
                continue;
            }
            if !matches!(event.kind, FULL_SNAPSHOT | INCREMENTAL | CUSTOM) {
                continue;
            }
            let Some(page) = self.page.as_mut() else {
                return Err(WireError(format!(
                    "{what}: rrweb events came before any Meta event (type 4) of this session; send the batch with the Meta event first"
                )));
            };
            let t_ms =
                (timestamp - page.view.started_at_ms).clamp(0, i64::from(limits.max_t_ms)) as u32;
            match event.kind {
                FULL_SNAPSHOT => {
                    apply_full_snapshot(page, &event.data, t_ms, &mut out, timestamp, &what)?
                }
                INCREMENTAL => {
                    apply_incremental(page, &event.data, timestamp, t_ms, limits, &mut out, &what)?
                }
                _ => apply_custom(page, &event.data, &mut out, timestamp),
            }
        }
        Ok(out.streams)
    }

    fn start_page(
        &mut self,
        data: &Value,
        timestamp: i64,
        limits: &WireLimits,
        what: &str,
    ) -> Result<(), WireError> {
        let href = data
            .get("href")
            .and_then(Value::as_str)
            .ok_or_else(|| WireError(format!("{what}: Meta event without `href`")))?;
        if href.len() > limits.max_url_len {
            return Err(WireError(format!(
                "{what}: href is longer than {} bytes",
                limits.max_url_len
            )));
        }
        let url = normalize_url(href, limits.keep_query)
            .map_err(|err| WireError(format!("{what}: {err}")))?;
        let width = dimension(data, "width", what)?;
        let height = dimension(data, "height", what)?;
        let index = self.next_page_view;
        self.next_page_view += 1;
        self.page = Some(OpenPage {
            index,
            view: PageView {
                url,
                viewport_width_px: width,
                viewport_height_px: height,
                document_width_px: 0,
                document_height_px: 0,
                device: DeviceClass::from_viewport_width(width),
                started_at_ms: timestamp,
                tags: Vec::new(),
                visitor_key: None,
            },
            document_node_id: DEFAULT_DOCUMENT_NODE_ID,
            scroll: (0, 0),
        });
        Ok(())
    }
}

fn apply_full_snapshot(
    page: &mut OpenPage,
    data: &Value,
    t_ms: u32,
    out: &mut BatchStreams<'_>,
    timestamp: i64,
    what: &str,
) -> Result<(), WireError> {
    if let Some(node) = data.get("node") {
        page.document_node_id = field_i64(node, "id", &format!("{what} node"))?;
    }
    if let Some(offset) = data.get("initialOffset") {
        page.scroll = (
            field_i64(offset, "left", &format!("{what} initialOffset"))?,
            field_i64(offset, "top", &format!("{what} initialOffset"))?,
        );
        if page.scroll.1 != 0 {
            let y = clamp_i32(page.scroll.1);
            out.for_page(page, timestamp)
                .scrolls
                .push(Scroll { t_ms, y });
        }
    }
    Ok(())
}

fn apply_incremental(
    page: &mut OpenPage,
    data: &Value,
    timestamp: i64,
    t_ms: u32,
    limits: &WireLimits,
    out: &mut BatchStreams<'_>,
    what: &str,
) -> Result<(), WireError> {
    let source = data.get("source").and_then(Value::as_u64);
    match source {
        Some(SOURCE_MOUSE_MOVE | SOURCE_TOUCH_MOVE) => {
            let moves = page_moves(page, data, timestamp, limits, what)?;
            out.for_page(page, timestamp).moves.extend(moves);
        }
        Some(SOURCE_MOUSE_INTERACTION)
            if data.get("type").and_then(Value::as_u64) == Some(INTERACTION_CLICK) =>
        {
            let click = page_click(page, data, t_ms, what)?;
            out.for_page(page, timestamp).clicks.push(click);
        }
        Some(SOURCE_SCROLL)
            if data.get("id").and_then(Value::as_i64) == Some(page.document_node_id) =>
        {
            page.scroll = (field_i64(data, "x", what)?, field_i64(data, "y", what)?);
            let y = clamp_i32(page.scroll.1);
            out.for_page(page, timestamp)
                .scrolls
                .push(Scroll { t_ms, y });
        }
        Some(SOURCE_VIEWPORT_RESIZE) => {
            let width_px = dimension(data, "width", what)?;
            let height_px = dimension(data, "height", what)?;
            out.for_page(page, timestamp).resizes.push(Resize {
                t_ms,
                width_px,
                height_px,
            });
        }
        _ => {}
    }
    Ok(())
}

/// Reads the `positions` of a mouse or touch move, in page coordinates and in time order.
fn page_moves(
    page: &OpenPage,
    data: &Value,
    timestamp: i64,
    limits: &WireLimits,
    what: &str,
) -> Result<Vec<Move>, WireError> {
    let Some(positions) = data.get("positions").and_then(Value::as_array) else {
        return Err(WireError(format!("{what}: mouse move without `positions`")));
    };
    let (scroll_x, scroll_y) = page.scroll;
    let started_at_ms = page.view.started_at_ms;
    let mut moves = Vec::with_capacity(positions.len());
    for (i, position) in positions.iter().enumerate() {
        let at = format!("{what} positions[{i}]");
        let offset = position
            .get("timeOffset")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let offset = integer_in(offset, -(1 << 31), 0, &format!("{at} timeOffset"))?;
        let t = (timestamp + offset - started_at_ms).clamp(0, i64::from(limits.max_t_ms)) as u32;
        let x = clamp_i32(field_i64(position, "x", &at)? + scroll_x);
        let y = clamp_i32(field_i64(position, "y", &at)? + scroll_y);
        moves.push(Move { t_ms: t, x, y });
    }
    moves.sort_by_key(|m| m.t_ms);
    Ok(moves)
}

/// Reads a click, in page coordinates, named after the rrweb node it hit.
fn page_click(page: &OpenPage, data: &Value, t_ms: u32, what: &str) -> Result<Click, WireError> {
    let x = clamp_i32(field_i64(data, "x", what)? + page.scroll.0);
    let y = clamp_i32(field_i64(data, "y", what)? + page.scroll.1);
    let node = data.get("id").and_then(Value::as_i64).unwrap_or(-1);
    Ok(Click {
        t_ms,
        x,
        y,
        selector: format!("rrweb:{node}"),
        inside: None,
        reaction: ClickReaction::NotObserved,
    })
}

fn apply_custom(page: &mut OpenPage, data: &Value, out: &mut BatchStreams<'_>, timestamp: i64) {
    if data.get("tag").and_then(Value::as_str) != Some("heatpipe/page") {
        return;
    }
    let payload = data.get("payload");
    let dimension = |name: &str| {
        payload
            .and_then(|p| p.get(name))
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 1.0 && *v <= 1_000_000.0)
    };
    if let Some(height) = dimension("height") {
        page.view.document_height_px = height.round() as u32;
        page.view.document_width_px =
            dimension("width").map_or(page.view.viewport_width_px, |w| w.round() as u32);
        out.for_page(page, timestamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events(value: Value) -> Vec<RrwebEvent> {
        serde_json::from_value(value).expect("events")
    }

    const T0: i64 = 1_763_800_000_000;

    #[test]
    fn converts_viewport_coordinates_to_page_coordinates() {
        let batch = events(json!([
            {"type": 4, "data": {"href": "https://Shop.example/p#x", "width": 1280, "height": 800}, "timestamp": T0},
            {"type": 2, "data": {"node": {"type": 0, "id": 7, "childNodes": []}, "initialOffset": {"left": 0, "top": 100}}, "timestamp": T0 + 5},
            {"type": 3, "data": {"source": 1, "positions": [{"x": 10, "y": 20, "id": 9, "timeOffset": -40}, {"x": 11, "y": 21, "id": 9, "timeOffset": 0}]}, "timestamp": T0 + 100},
            {"type": 3, "data": {"source": 3, "id": 7, "x": 0, "y": 500}, "timestamp": T0 + 200},
            {"type": 3, "data": {"source": 3, "id": 55, "x": 0, "y": 9999}, "timestamp": T0 + 210},
            {"type": 3, "data": {"source": 2, "type": 2, "id": 12, "x": 300, "y": 40}, "timestamp": T0 + 300},
            {"type": 3, "data": {"source": 2, "type": 0, "id": 12, "x": 300, "y": 40}, "timestamp": T0 + 301},
            {"type": 3, "data": {"source": 4, "width": 390, "height": 700}, "timestamp": T0 + 400},
            {"type": 5, "data": {"tag": "heatpipe/page", "payload": {"height": 4200}}, "timestamp": T0 + 450},
            {"type": 6, "data": {"plugin": "x"}, "timestamp": T0 + 460}
        ]));
        let mut session = RrwebSession::default();
        let streams = session
            .convert("s1", &batch, &WireLimits::default())
            .expect("convert");
        assert_eq!(streams.len(), 1);
        let stream = &streams[0];
        assert_eq!(stream.page.url, "https://shop.example/p");
        assert_eq!(stream.page.document_height_px, 4200);
        assert_eq!(
            stream.moves,
            vec![
                Move {
                    t_ms: 60,
                    x: 10,
                    y: 120
                },
                Move {
                    t_ms: 100,
                    x: 11,
                    y: 121
                }
            ]
        );
        assert_eq!(
            stream.scrolls,
            vec![Scroll { t_ms: 5, y: 100 }, Scroll { t_ms: 200, y: 500 }]
        );
        assert_eq!(stream.clicks.len(), 1);
        assert_eq!(
            (
                stream.clicks[0].x,
                stream.clicks[0].y,
                stream.clicks[0].selector.as_str()
            ),
            (300, 540, "rrweb:12")
        );
        assert_eq!(
            stream.resizes,
            vec![Resize {
                t_ms: 400,
                width_px: 390,
                height_px: 700
            }]
        );

        // The next batch continues the page view with the scroll offset it left at.
        let next = events(
            json!([{"type": 3, "data": {"source": 2, "type": 2, "id": 3, "x": 1, "y": 1}, "timestamp": T0 + 1000}]),
        );
        let streams = session
            .convert("s1", &next, &WireLimits::default())
            .expect("convert");
        assert_eq!(
            (streams[0].page_view_index, streams[0].clicks[0].y),
            (0, 501)
        );
    }

    #[test]
    fn scroll_of_node_1_is_the_window_without_a_full_snapshot() {
        let batch = events(json!([
            {"type": 4, "data": {"href": "https://a.example/", "width": 400, "height": 700}, "timestamp": T0},
            {"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": 250}, "timestamp": T0 + 10},
            {"type": 4, "data": {"href": "https://a.example/b", "width": 400, "height": 700}, "timestamp": T0 + 20},
            {"type": 3, "data": {"source": 6, "positions": [{"x": 5, "y": 5, "id": 1, "timeOffset": 0}]}, "timestamp": T0 + 30}
        ]));
        let streams = RrwebSession::default()
            .convert("s", &batch, &WireLimits::default())
            .expect("convert");
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].scrolls, vec![Scroll { t_ms: 10, y: 250 }]);
        assert_eq!(
            (streams[1].page_view_index, streams[1].page.url.as_str()),
            (1, "https://a.example/b")
        );
        assert_eq!(
            streams[1].moves,
            vec![Move {
                t_ms: 10,
                x: 5,
                y: 5
            }],
            "a new page view starts unscrolled"
        );
    }

    #[test]
    fn events_before_a_meta_event_are_refused() {
        let batch =
            events(json!([{"type": 3, "data": {"source": 1, "positions": []}, "timestamp": T0}]));
        let err = RrwebSession::default()
            .convert("s", &batch, &WireLimits::default())
            .expect_err("no meta");
        assert!(err.0.contains("before any Meta event"), "{err}");
    }
}

//! One batch of events exactly as rrweb's recorder emits them (`{"type", "data",
//! "timestamp"}`), checked and reduced to the [`PointerEvent`]s heatmaps need. Each batch is
//! read on its own: nothing here depends on an earlier batch of the session.

use serde::Deserialize;
use serde_json::Value;

use super::{PointerEvent, RrwebBatch};
use crate::page::normalize_url;
use crate::wire::{WireError, WireLimits, integer_in};

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
/// The custom event by which a page tells its document's size.
pub const PAGE_SIZE_TAG: &str = "heatpipe/page";
/// Largest coordinate, node id or offset accepted (rrweb never records more).
const MAX_ABS_VALUE: i64 = 1 << 40;
/// Latest timestamp accepted: about the year 3084.
const MAX_TIMESTAMP_MS: i64 = 1 << 45;

/// One rrweb event: `{"type": 3, "data": {…}, "timestamp": 1763…}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RrwebEvent {
    #[serde(rename = "type")]
    pub kind: u64,
    #[serde(default)]
    pub data: Value,
    pub timestamp: f64,
}

/// Checks one batch of `session_id` and keeps its pointer events, in the order given. Errors
/// name the event and field at fault, in words a client developer can act on.
pub fn parse_batch(
    session_id: &str,
    events: &[RrwebEvent],
    limits: &WireLimits,
) -> Result<RrwebBatch, WireError> {
    if events.len() > limits.max_events_per_batch {
        return Err(WireError(format!(
            "batch has {} events; at most {} are accepted",
            events.len(),
            limits.max_events_per_batch
        )));
    }
    let mut kept = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let at = EventAt { index };
        let timestamp = integer_in(event.timestamp, 0, MAX_TIMESTAMP_MS, &at.field("timestamp"))?;
        match event.kind {
            META => kept.push(meta(&event.data, timestamp, limits, at)?),
            FULL_SNAPSHOT => kept.push(snapshot(&event.data, timestamp, at)?),
            INCREMENTAL => incremental(&event.data, timestamp, limits, at, &mut kept)?,
            CUSTOM => kept.extend(page_size(&event.data, timestamp)),
            _ => {}
        }
    }
    Ok(RrwebBatch {
        session_id: session_id.to_owned(),
        events: kept,
    })
}

/// Names event `index` in errors; labels are made only when an error is reported.
#[derive(Debug, Clone, Copy)]
struct EventAt {
    index: usize,
}

impl EventAt {
    fn field(self, name: &str) -> String {
        format!("events[{}] {name}", self.index)
    }

    fn error(self, message: &str) -> WireError {
        WireError(format!("events[{}]: {message}", self.index))
    }
}

/// Reads the number `name` of `value` (within ±2⁴⁰).
fn number(value: &Value, name: &str, at: EventAt) -> Result<i64, WireError> {
    let Some(number) = value.get(name).and_then(Value::as_f64) else {
        return Err(at.error(&format!("missing number `{name}`")));
    };
    integer_in(number, -MAX_ABS_VALUE, MAX_ABS_VALUE, &at.field(name))
}

/// Reads a viewport or document dimension (1..=`max` px) named `name`.
fn dimension(data: &Value, name: &str, max: i64, at: EventAt) -> Result<u32, WireError> {
    let value = data.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN);
    integer_in(value, 1, max, &at.field(name)).map(|v| v as u32)
}

fn meta(
    data: &Value,
    at_ms: i64,
    limits: &WireLimits,
    at: EventAt,
) -> Result<PointerEvent, WireError> {
    let href = data
        .get("href")
        .and_then(Value::as_str)
        .ok_or_else(|| at.error("Meta event without `href`"))?;
    if href.len() > limits.max_url_len {
        return Err(at.error(&format!("href is longer than {} bytes", limits.max_url_len)));
    }
    let url = normalize_url(href, limits.keep_query).map_err(|err| at.error(&err.to_string()))?;
    Ok(PointerEvent::Meta {
        at_ms,
        url,
        width_px: dimension(data, "width", 100_000, at)?,
        height_px: dimension(data, "height", 100_000, at)?,
    })
}

fn snapshot(data: &Value, at_ms: i64, at: EventAt) -> Result<PointerEvent, WireError> {
    let document_node = match data.get("node") {
        Some(node) => Some(number(node, "id", at)?),
        None => None,
    };
    let scroll = match data.get("initialOffset") {
        Some(offset) => Some((number(offset, "left", at)?, number(offset, "top", at)?)),
        None => None,
    };
    Ok(PointerEvent::Snapshot {
        at_ms,
        document_node,
        scroll,
    })
}

fn incremental(
    data: &Value,
    at_ms: i64,
    limits: &WireLimits,
    at: EventAt,
    kept: &mut Vec<PointerEvent>,
) -> Result<(), WireError> {
    match data.get("source").and_then(Value::as_u64) {
        Some(SOURCE_MOUSE_MOVE | SOURCE_TOUCH_MOVE) => moves(data, at_ms, limits, at, kept)?,
        Some(SOURCE_MOUSE_INTERACTION)
            if data.get("type").and_then(Value::as_u64) == Some(INTERACTION_CLICK) =>
        {
            kept.push(PointerEvent::Click {
                at_ms,
                x: number(data, "x", at)?,
                y: number(data, "y", at)?,
                node: data.get("id").and_then(Value::as_i64).unwrap_or(-1),
            });
        }
        Some(SOURCE_SCROLL) => kept.push(PointerEvent::Scroll {
            at_ms,
            node: number(data, "id", at)?,
            x: number(data, "x", at)?,
            y: number(data, "y", at)?,
        }),
        Some(SOURCE_VIEWPORT_RESIZE) => kept.push(PointerEvent::Resize {
            at_ms,
            width_px: dimension(data, "width", 100_000, at)?,
            height_px: dimension(data, "height", 100_000, at)?,
        }),
        _ => {}
    }
    Ok(())
}

/// Reads the `positions` of a mouse or touch move, each at `timestamp + timeOffset`.
fn moves(
    data: &Value,
    at_ms: i64,
    limits: &WireLimits,
    at: EventAt,
    kept: &mut Vec<PointerEvent>,
) -> Result<(), WireError> {
    let Some(positions) = data.get("positions").and_then(Value::as_array) else {
        return Err(at.error("mouse move without `positions`"));
    };
    if positions.len() > limits.max_events_per_batch {
        return Err(at.error(&format!(
            "a move has {} positions; at most {} are accepted",
            positions.len(),
            limits.max_events_per_batch
        )));
    }
    for (i, position) in positions.iter().enumerate() {
        let offset = position
            .get("timeOffset")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let offset = integer_in(
            offset,
            -(1 << 31),
            0,
            &at.field(&format!("positions[{i}] timeOffset")),
        )?;
        kept.push(PointerEvent::Move {
            at_ms: (at_ms + offset).max(0),
            x: number(position, "x", at)?,
            y: number(position, "y", at)?,
        });
    }
    Ok(())
}

/// Reads heatpipe's custom page-size event; other custom events are not kept.
fn page_size(data: &Value, at_ms: i64) -> Option<PointerEvent> {
    if data.get("tag").and_then(Value::as_str) != Some(PAGE_SIZE_TAG) {
        return None;
    }
    let payload = data.get("payload");
    let dimension = |name: &str| {
        payload
            .and_then(|p| p.get(name))
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 1.0 && *v <= 1_000_000.0)
            .map(|v| v.round() as u32)
    };
    Some(PointerEvent::PageSize {
        at_ms,
        width_px: dimension("width"),
        height_px: dimension("height")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn events(value: Value) -> Vec<RrwebEvent> {
        serde_json::from_value(value).expect("events")
    }

    const T0: i64 = 1_763_800_000_000;

    #[test]
    fn a_batch_keeps_its_pointer_events_in_viewport_terms() {
        let batch = events(json!([
            {"type": 4, "data": {"href": "https://Shop.example/p#x", "width": 1280, "height": 800}, "timestamp": T0},
            {"type": 2, "data": {"node": {"type": 0, "id": 7, "childNodes": []}, "initialOffset": {"left": 0, "top": 100}}, "timestamp": T0 + 5},
            {"type": 3, "data": {"source": 1, "positions": [{"x": 10, "y": 20, "id": 9, "timeOffset": -40}]}, "timestamp": T0 + 100},
            {"type": 3, "data": {"source": 2, "type": 0, "id": 12, "x": 300, "y": 40}, "timestamp": T0 + 301},
            {"type": 3, "data": {"source": 5, "text": "typed text", "isChecked": false, "id": 30}, "timestamp": T0 + 302},
            {"type": 5, "data": {"tag": "heatpipe/page", "payload": {"height": 4200}}, "timestamp": T0 + 450},
            {"type": 6, "data": {"plugin": "x"}, "timestamp": T0 + 460}
        ]));
        let parsed = parse_batch("s1", &batch, &WireLimits::default()).expect("valid");
        assert_eq!(
            parsed.events,
            vec![
                PointerEvent::Meta {
                    at_ms: T0,
                    url: "https://shop.example/p".into(),
                    width_px: 1280,
                    height_px: 800
                },
                PointerEvent::Snapshot {
                    at_ms: T0 + 5,
                    document_node: Some(7),
                    scroll: Some((0, 100))
                },
                PointerEvent::Move {
                    at_ms: T0 + 60,
                    x: 10,
                    y: 20
                },
                PointerEvent::PageSize {
                    at_ms: T0 + 450,
                    width_px: None,
                    height_px: 4200
                },
            ]
        );
        assert_eq!(parsed.first_at_ms(), Some(T0));
        assert_eq!(parsed.num_recorded_events(), 1);
    }

    #[test]
    fn a_batch_without_a_meta_event_is_accepted() {
        let batch = events(json!([
            {"type": 3, "data": {"source": 2, "type": 2, "id": 3, "x": 1, "y": 1}, "timestamp": T0 + 1000}
        ]));
        let parsed = parse_batch("s1", &batch, &WireLimits::default()).expect("valid");
        assert_eq!(
            parsed.events,
            [PointerEvent::Click {
                at_ms: T0 + 1000,
                x: 1,
                y: 1,
                node: 3
            }]
        );
    }

    #[test]
    fn bad_events_are_named_in_the_error() {
        let cases = [
            (
                json!([{"type": 4, "data": {"width": 1, "height": 1}, "timestamp": T0}]),
                "events[0]: Meta event without `href`",
            ),
            (
                json!([{"type": 4, "data": {"href": "ftp://x/", "width": 1, "height": 1}, "timestamp": T0}]),
                "http or https",
            ),
            (
                json!([{"type": 4, "data": {"href": "https://a/", "width": 0, "height": 1}, "timestamp": T0}]),
                "events[0] width",
            ),
            (
                json!([{"type": 3, "data": {"source": 1}, "timestamp": T0}]),
                "without `positions`",
            ),
            (
                json!([{"type": 3, "data": {"source": 3, "id": 1, "x": 0}, "timestamp": T0}]),
                "missing number `y`",
            ),
            (
                json!([{"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": 1e15}, "timestamp": T0}]),
                "events[0] y",
            ),
            (
                json!([{"type": 3, "data": {"source": 1, "positions": []}, "timestamp": -1}]),
                "events[0] timestamp",
            ),
        ];
        for (batch, expected) in cases {
            let err = parse_batch("s", &events(batch), &WireLimits::default()).expect_err(expected);
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
        let too_many = vec![json!({"type": 6, "data": {}, "timestamp": T0}); 3];
        let limits = WireLimits {
            max_events_per_batch: 2,
            ..WireLimits::default()
        };
        let err = parse_batch("s", &events(Value::Array(too_many)), &limits).expect_err("too many");
        assert!(err.0.contains("at most 2"), "{err}");
    }
}

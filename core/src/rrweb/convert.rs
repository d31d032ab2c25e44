//! A session's rrweb batches, together and in time order, into page-coordinate streams: the
//! conversion the processor runs once it holds every batch of the session for the day, so that
//! no collector needs to remember anything between batches.
//!
//! Batches are taken in order of their first event (a retried batch, identical, counts once).
//! Each Meta event starts the session's next page view; within it, viewport coordinates add the
//! window scroll known at that moment (from the last FullSnapshot's offset or Scroll of the
//! document node). Each batch becomes one stream per page view it touches, numbered in batch
//! order, so the streams are the same whichever collectors the batches reached and in whatever
//! order they arrived.

use super::{DEFAULT_DOCUMENT_NODE_ID, PointerEvent, RrwebBatch};
use crate::event::{Click, ClickReaction, DeviceClass, Move, PageView, Resize, Scroll, Stream};

/// What converting a session's batches gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertedSession {
    /// One stream per batch and page view, in batch order.
    pub streams: Vec<Stream>,
    /// Batches seen more than once (a retried upload), kept once.
    pub repeated_batches: u64,
    /// Events that came before any Meta event of the session: they belong to a page view whose
    /// start the batches given do not hold (one that started the day before).
    pub events_without_page: u64,
}

/// Converts every batch of session `session_id` (in any order, repeats included). `max_t_ms`
/// bounds a page view's event times, as the native batch's limit does.
pub fn convert_session(
    session_id: &str,
    batches: &[RrwebBatch],
    max_t_ms: u32,
) -> ConvertedSession {
    let mut ordered: Vec<&RrwebBatch> = batches.iter().collect();
    ordered.sort_by(|a, b| (a.first_at_ms(), &a.events).cmp(&(b.first_at_ms(), &b.events)));
    let before = ordered.len();
    ordered.dedup_by(|a, b| a.events == b.events);
    let mut converted = ConvertedSession {
        repeated_batches: (before - ordered.len()) as u64,
        ..ConvertedSession::default()
    };
    let mut state = SessionState::default();
    // Each stream gets its own sequence number, in order: a batch that spans two page views
    // gives two streams, which must not look like repeats of each other.
    let mut next_seq = 0;
    for batch in ordered {
        let mut events: Vec<&PointerEvent> = batch.events.iter().collect();
        // A batch's moves carry their own offsets: put everything in time order, keeping
        // rrweb's order among events of the same millisecond.
        events.sort_by_key(|event| event.at_ms());
        let mut out = BatchStreams {
            session_id,
            next_seq,
            streams: Vec::new(),
        };
        for event in events {
            if !state.apply(event, max_t_ms, &mut out) {
                converted.events_without_page += u64::from(event.is_recorded_event());
            }
        }
        for stream in &mut out.streams {
            stream.moves.sort_by_key(|m| m.t_ms);
        }
        next_seq = out.next_seq;
        converted.streams.extend(out.streams);
    }
    converted
}

/// The page view a session is on, with what rrweb told of it so far.
#[derive(Debug, Clone)]
struct OpenPage {
    index: u32,
    view: PageView,
    document_node: i64,
    scroll: (i64, i64),
}

/// What carries from one event of a session to the next.
#[derive(Debug, Default)]
struct SessionState {
    next_page_view: u32,
    page: Option<OpenPage>,
}

impl SessionState {
    /// Applies one event; returns false when it came before any page view started.
    fn apply(&mut self, event: &PointerEvent, max_t_ms: u32, out: &mut BatchStreams<'_>) -> bool {
        if let PointerEvent::Meta {
            at_ms,
            url,
            width_px,
            height_px,
        } = event
        {
            self.start_page(*at_ms, url, *width_px, *height_px);
            return true;
        }
        let Some(page) = self.page.as_mut() else {
            return false;
        };
        let t_ms = (event.at_ms() - page.view.started_at_ms).clamp(0, i64::from(max_t_ms)) as u32;
        match *event {
            PointerEvent::Meta { .. } => {}
            PointerEvent::Snapshot {
                document_node,
                scroll,
                ..
            } => {
                if let Some(node) = document_node {
                    page.document_node = node;
                }
                if let Some(offset) = scroll {
                    page.scroll = offset;
                    if offset.1 != 0 {
                        let y = clamp_i32(offset.1);
                        out.for_page(page).scrolls.push(Scroll { t_ms, y });
                    }
                }
            }
            PointerEvent::Move { x, y, .. } => {
                let (x, y) = page.to_page(x, y);
                out.for_page(page).moves.push(Move { t_ms, x, y });
            }
            PointerEvent::Click { x, y, node, .. } => {
                let (x, y) = page.to_page(x, y);
                out.for_page(page).clicks.push(Click {
                    t_ms,
                    x,
                    y,
                    selector: format!("rrweb:{node}"),
                    inside: None,
                    reaction: ClickReaction::NotObserved,
                });
            }
            PointerEvent::Scroll { node, x, y, .. } => {
                // Other nodes are inner scroll containers: the page itself did not move.
                if node == page.document_node {
                    page.scroll = (x, y);
                    let y = clamp_i32(y);
                    out.for_page(page).scrolls.push(Scroll { t_ms, y });
                }
            }
            PointerEvent::Resize {
                width_px,
                height_px,
                ..
            } => out.for_page(page).resizes.push(Resize {
                t_ms,
                width_px,
                height_px,
            }),
            PointerEvent::PageSize {
                width_px,
                height_px,
                ..
            } => {
                page.view.document_height_px = height_px;
                page.view.document_width_px = width_px.unwrap_or(page.view.viewport_width_px);
                out.for_page(page);
            }
        }
        true
    }

    fn start_page(&mut self, at_ms: i64, url: &str, width_px: u32, height_px: u32) {
        let index = self.next_page_view;
        self.next_page_view += 1;
        self.page = Some(OpenPage {
            index,
            view: PageView {
                url: url.to_owned(),
                viewport_width_px: width_px,
                viewport_height_px: height_px,
                document_width_px: 0,
                document_height_px: 0,
                device: DeviceClass::from_viewport_width(width_px),
                started_at_ms: at_ms,
                tags: Vec::new(),
                visitor_key: None,
            },
            document_node: DEFAULT_DOCUMENT_NODE_ID,
            scroll: (0, 0),
        });
    }
}

impl OpenPage {
    /// Returns viewport (`x`, `y`) in page coordinates.
    fn to_page(&self, x: i64, y: i64) -> (i32, i32) {
        (clamp_i32(x + self.scroll.0), clamp_i32(y + self.scroll.1))
    }
}

fn clamp_i32(value: i64) -> i32 {
    value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The streams one batch fills: one per page view it touches, numbered from `next_seq` on.
struct BatchStreams<'a> {
    session_id: &'a str,
    next_seq: u64,
    streams: Vec<Stream>,
}

impl BatchStreams<'_> {
    /// Returns the stream of `page` for this batch, made if new; it takes the page as it is now
    /// (a document size told later in the batch applies to the whole batch).
    fn for_page(&mut self, page: &OpenPage) -> &mut Stream {
        let reuse = self
            .streams
            .last()
            .is_some_and(|s| s.page_view_index == page.index);
        if !reuse {
            self.next_seq += 1;
            self.streams.push(Stream {
                session_id: self.session_id.to_owned(),
                batch_seq: self.next_seq - 1,
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

#[cfg(test)]
mod tests {
    use super::super::parse::parse_batch;
    use super::super::parse::tests::events;
    use super::*;
    use crate::wire::WireLimits;
    use serde_json::{Value, json};

    const T0: i64 = 1_763_800_000_000;
    const MAX_T_MS: u32 = 24 * 3_600_000;

    fn batch(value: Value) -> RrwebBatch {
        parse_batch("s1", &events(value), &WireLimits::default()).expect("valid")
    }

    fn first_batch() -> RrwebBatch {
        batch(json!([
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
        ]))
    }

    fn second_batch() -> RrwebBatch {
        batch(json!([
            {"type": 3, "data": {"source": 2, "type": 2, "id": 3, "x": 1, "y": 1}, "timestamp": T0 + 1000}
        ]))
    }

    #[test]
    fn viewport_coordinates_become_page_coordinates() {
        let converted = convert_session("s1", &[first_batch()], MAX_T_MS);
        assert_eq!(converted.streams.len(), 1);
        let stream = &converted.streams[0];
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
        let click = &stream.clicks[..];
        assert_eq!(
            (
                click.len(),
                click[0].x,
                click[0].y,
                click[0].selector.as_str()
            ),
            (1, 300, 540, "rrweb:12")
        );
        assert_eq!(
            stream.resizes,
            vec![Resize {
                t_ms: 400,
                width_px: 390,
                height_px: 700
            }]
        );
    }

    #[test]
    fn a_later_batch_continues_the_page_view_whatever_order_the_batches_came_in() {
        let in_order = convert_session("s1", &[first_batch(), second_batch()], MAX_T_MS);
        let reversed = convert_session("s1", &[second_batch(), first_batch()], MAX_T_MS);
        assert_eq!(in_order, reversed);
        let later = &in_order.streams[1];
        // The scroll offset the first batch left (500) applies to the second batch's click.
        assert_eq!(
            (later.batch_seq, later.page_view_index, later.clicks[0].y),
            (1, 0, 501)
        );
    }

    #[test]
    fn a_batch_spanning_two_page_views_gives_each_its_own_seq() {
        let mut spanning = first_batch();
        let second_view_at = spanning
            .events
            .iter()
            .map(PointerEvent::at_ms)
            .max()
            .unwrap_or(0)
            + 10;
        spanning.events.extend([
            PointerEvent::Meta {
                at_ms: second_view_at,
                url: "https://shop.example/cart".into(),
                width_px: 1280,
                height_px: 800,
            },
            PointerEvent::Click {
                at_ms: second_view_at + 5,
                x: 10,
                y: 20,
                node: 3,
            },
        ]);
        let converted = convert_session("s1", &[spanning, second_batch()], MAX_T_MS);
        let seqs: Vec<(u32, u64)> = converted
            .streams
            .iter()
            .map(|s| (s.page_view_index, s.batch_seq))
            .collect();
        assert_eq!(seqs, [(0, 0), (1, 1), (1, 2)]);
    }

    #[test]
    fn a_retried_batch_counts_once() {
        let converted = convert_session(
            "s1",
            &[first_batch(), second_batch(), first_batch()],
            MAX_T_MS,
        );
        assert_eq!(converted.repeated_batches, 1);
        assert_eq!(
            converted,
            ConvertedSession {
                repeated_batches: 1,
                ..convert_session("s1", &[first_batch(), second_batch()], MAX_T_MS)
            }
        );
    }

    #[test]
    fn scroll_of_node_1_is_the_window_without_a_full_snapshot() {
        let batch = batch(json!([
            {"type": 4, "data": {"href": "https://a.example/", "width": 400, "height": 700}, "timestamp": T0},
            {"type": 3, "data": {"source": 3, "id": 1, "x": 0, "y": 250}, "timestamp": T0 + 10},
            {"type": 4, "data": {"href": "https://a.example/b", "width": 400, "height": 700}, "timestamp": T0 + 20},
            {"type": 3, "data": {"source": 6, "positions": [{"x": 5, "y": 5, "id": 1, "timeOffset": 0}]}, "timestamp": T0 + 30}
        ]));
        let streams = convert_session("s", &[batch], MAX_T_MS).streams;
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
    fn events_before_any_page_view_are_counted_not_converted() {
        let converted = convert_session("s1", &[second_batch()], MAX_T_MS);
        assert!(converted.streams.is_empty());
        assert_eq!(converted.events_without_page, 1);
    }
}

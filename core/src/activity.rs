//! Active time: how long a page view had events, its inactive stretches left out. Clarity and
//! Hotjar report the same measure: a visitor who reads for a minute without moving the pointer
//! is not "active" for that minute; one who moves, scrolls or clicks is.
//!
//! A view's active time is the sum of the gaps between its consecutive events (of every kind)
//! that are shorter than [`INACTIVE_GAP_MS`]. It is computed batch by batch, so that a view
//! need not keep its events: each batch keeps its first and last event times and its own active
//! time, and a view adds its batches' times plus the short gaps between consecutive batches.
//!
//! The same rule gives a view's active *spans* (stretches of time with no inactive gap), which
//! the attention map spreads over the rows in the viewport: a batch's spans
//! ([`BatchActivity::of_with_spans`]) and the short gaps between batches ([`view_gap_spans`])
//! add up to exactly [`view_active_ms`].

use serde::{Deserialize, Serialize};

use crate::event::{Move, Resize, Scroll};
use crate::stream_ref::{ClickRef, StreamRef};

/// A gap between two events at least this long is inactivity, left out of active time.
pub const INACTIVE_GAP_MS: u32 = 3_000;

/// What one batch adds to its view's active time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BatchActivity {
    pub first_t_ms: u32,
    pub last_t_ms: u32,
    /// The active time between the batch's first and last events.
    pub active_ms: u32,
}

impl BatchActivity {
    /// Returns the activity of `stream`'s events, or None if it has none. Each kind of event is
    /// in time order in a stream, so the kinds are merged in one pass.
    pub fn of(stream: &StreamRef<'_>) -> Option<Self> {
        Self::of_with_spans(stream, |_| {})
    }

    /// Returns the activity of `stream`'s events as [`BatchActivity::of`] does, and hands
    /// `span` each of its active spans in time order: runs of events less than
    /// [`INACTIVE_GAP_MS`] apart, from a run's first event to its last (a run of one event is no
    /// time and is left out). The spans' lengths add up to `active_ms`.
    pub fn of_with_spans(stream: &StreamRef<'_>, mut span: impl FnMut(ActiveSpan)) -> Option<Self> {
        let mut events = EventsInTime {
            moves: stream.moves,
            clicks: stream.clicks,
            scrolls: stream.scrolls,
            resizes: stream.resizes,
        };
        let mut activity: Option<BatchActivity> = None;
        let mut run_start = 0;
        while let Some(t_ms) = events.next_time() {
            let Some(so_far) = activity.as_mut() else {
                activity = Some(BatchActivity {
                    first_t_ms: t_ms,
                    last_t_ms: t_ms,
                    active_ms: 0,
                });
                run_start = t_ms;
                continue;
            };
            if t_ms.saturating_sub(so_far.last_t_ms) >= INACTIVE_GAP_MS {
                emit_span(run_start, so_far.last_t_ms, &mut span);
                run_start = t_ms;
            }
            so_far.active_ms += active_gap(so_far.last_t_ms, t_ms);
            so_far.last_t_ms = so_far.last_t_ms.max(t_ms);
        }
        if let Some(done) = &activity {
            emit_span(run_start, done.last_t_ms, &mut span);
        }
        activity
    }
}

/// An active stretch of a page view: from `start_ms` to `end_ms` after the view started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ActiveSpan {
    pub start_ms: u32,
    pub end_ms: u32,
}

impl ActiveSpan {
    pub fn len_ms(self) -> u32 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

fn emit_span(start_ms: u32, end_ms: u32, span: &mut impl FnMut(ActiveSpan)) {
    if end_ms > start_ms {
        span(ActiveSpan { start_ms, end_ms });
    }
}

/// Returns the active time of a view from its batches' activities, in any order. Batches of a
/// view follow each other in time (the tracker sends them in order), so a gap between one
/// batch's last event and the next one's first counts like a gap between events; batches that
/// overlap add their own active time only.
pub fn view_active_ms(batches: &mut [BatchActivity]) -> u64 {
    batches.sort_unstable();
    let mut total: u64 = batches.iter().map(|b| u64::from(b.active_ms)).sum();
    view_gap_spans(batches, |gap| total += u64::from(gap.len_ms()));
    total
}

/// Hands `span` the gaps between a view's consecutive batches that count as active time (see
/// [`view_active_ms`]); `batches` must be sorted. With each batch's own spans
/// ([`BatchActivity::of_with_spans`]) they cover the view's active time exactly.
pub fn view_gap_spans(batches: &[BatchActivity], mut span: impl FnMut(ActiveSpan)) {
    let mut previous_last: Option<u32> = None;
    for batch in batches {
        if let Some(last) = previous_last
            && batch.first_t_ms >= last
            && active_gap(last, batch.first_t_ms) > 0
        {
            span(ActiveSpan {
                start_ms: last,
                end_ms: batch.first_t_ms,
            });
        }
        previous_last =
            Some(previous_last.map_or(batch.last_t_ms, |last| last.max(batch.last_t_ms)));
    }
}

/// The part of the gap from `before` to `after` that is active: all of it when it is shorter
/// than [`INACTIVE_GAP_MS`], none otherwise.
fn active_gap(before: u32, after: u32) -> u32 {
    let gap = after.saturating_sub(before);
    if gap < INACTIVE_GAP_MS { gap } else { 0 }
}

/// A stream's events of every kind, taken in time order (each kind is in time order already).
struct EventsInTime<'s> {
    moves: &'s [Move],
    clicks: &'s [ClickRef<'s>],
    scrolls: &'s [Scroll],
    resizes: &'s [Resize],
}

impl EventsInTime<'_> {
    /// Takes the earliest event left and returns its time.
    fn next_time(&mut self) -> Option<u32> {
        let heads = [
            self.moves.first().map(|e| e.t_ms),
            self.clicks.first().map(|e| e.t_ms),
            self.scrolls.first().map(|e| e.t_ms),
            self.resizes.first().map(|e| e.t_ms),
        ];
        let (kind, t_ms) = heads
            .into_iter()
            .enumerate()
            .filter_map(|(kind, t_ms)| Some((kind, t_ms?)))
            .min_by_key(|&(_, t_ms)| t_ms)?;
        match kind {
            0 => self.moves = &self.moves[1..],
            1 => self.clicks = &self.clicks[1..],
            2 => self.scrolls = &self.scrolls[1..],
            _ => self.resizes = &self.resizes[1..],
        }
        Some(t_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Click, ClickReaction, DeviceClass, Move, PageView, Scroll, Stream};

    fn stream(moves: &[u32], clicks: &[u32], scrolls: &[u32]) -> Stream {
        Stream {
            session_id: "s".into(),
            batch_seq: 0,
            page_view_index: 0,
            page: PageView {
                url: "https://a.example/".into(),
                viewport_width_px: 1280,
                viewport_height_px: 800,
                document_width_px: 1280,
                document_height_px: 3000,
                device: DeviceClass::Desktop,
                started_at_ms: 0,
                tags: vec![],
                visitor_key: None,
            },
            moves: moves
                .iter()
                .map(|&t_ms| Move { t_ms, x: 0, y: 0 })
                .collect(),
            clicks: clicks
                .iter()
                .map(|&t_ms| Click {
                    t_ms,
                    x: 0,
                    y: 0,
                    selector: "#a".into(),
                    inside: None,
                    reaction: ClickReaction::NotObserved,
                })
                .collect(),
            scrolls: scrolls.iter().map(|&t_ms| Scroll { t_ms, y: 0 }).collect(),
            resizes: vec![],
        }
    }

    fn activity(stream: &Stream) -> Option<BatchActivity> {
        stream.with_ref(BatchActivity::of)
    }

    #[test]
    fn gaps_of_three_seconds_or_more_are_left_out() {
        // Events at 0, 1000, 2000 (active 2 s), a 5 s pause, then 7000, 9999 (2999 ms, active),
        // then exactly 3000 ms to 12999 (inactive).
        let batch = stream(&[0, 2000, 9999], &[1000], &[7000, 12_999]);
        assert_eq!(
            activity(&batch),
            Some(BatchActivity {
                first_t_ms: 0,
                last_t_ms: 12_999,
                active_ms: 2000 + 2999,
            })
        );
        assert_eq!(activity(&stream(&[], &[], &[])), None);
        assert_eq!(
            activity(&stream(&[], &[40], &[])).map(|a| a.active_ms),
            Some(0),
            "one event is no time"
        );
    }

    #[test]
    fn a_view_adds_its_batches_and_the_short_gaps_between_them() {
        let mut batches = [
            // Given out of order: sorted by the view.
            BatchActivity {
                first_t_ms: 5_000,
                last_t_ms: 6_000,
                active_ms: 1_000,
            },
            BatchActivity {
                first_t_ms: 0,
                last_t_ms: 4_000,
                active_ms: 3_500,
            },
            // 10 s after the previous batch: the gap is inactive.
            BatchActivity {
                first_t_ms: 16_000,
                last_t_ms: 16_500,
                active_ms: 500,
            },
        ];
        assert_eq!(view_active_ms(&mut batches), 3_500 + 1_000 + 1_000 + 500);
        assert_eq!(view_active_ms(&mut []), 0);
    }

    fn spans_of(stream: &Stream) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        stream.with_ref(|stream| {
            BatchActivity::of_with_spans(stream, |s| spans.push((s.start_ms, s.end_ms)))
        });
        spans
    }

    #[test]
    fn a_batch_spans_its_runs_of_events_and_they_add_up_to_its_active_time() {
        // Runs 0..2000, 7000..9999; 12999 alone (3000 ms after the last) is no time.
        let batch = stream(&[0, 2000, 9999], &[1000], &[7000, 12_999]);
        assert_eq!(spans_of(&batch), [(0, 2000), (7000, 9999)]);
        assert_eq!(spans_of(&stream(&[], &[40], &[])), []);
        // Two events at one time are no time either, and do not split a run.
        let batch = stream(&[100, 100, 2_000], &[100], &[6_000, 8_999]);
        assert_eq!(spans_of(&batch), [(100, 2_000), (6_000, 8_999)]);
        let total: u32 = spans_of(&batch).iter().map(|(a, b)| b - a).sum();
        assert_eq!(Some(total), activity(&batch).map(|a| a.active_ms));
    }

    #[test]
    fn a_view_cut_into_batches_has_the_active_time_of_the_whole() {
        // Moves in any order; and moves with 4.9 s pauses every 40 of them.
        let shuffled: Vec<u32> = (0..200)
            .map(|i| i * 137 % 9_000 + (i / 50) * 4_000)
            .collect();
        let paused: Vec<u32> = (0..200).map(|i| i * 100 + (i / 40) * 4_900).collect();
        for (moves, runs) in [(shuffled, 1), (paused, 5)] {
            let mut sorted = moves.clone();
            sorted.sort_unstable();
            let whole = activity(&stream(&sorted, &[], &[])).map_or(0, |a| u64::from(a.active_ms));
            assert_eq!(spans_of(&stream(&sorted, &[], &[])).len(), runs);
            let mut parts: Vec<BatchActivity> = sorted
                .chunks(37)
                .filter_map(|part| activity(&stream(part, &[], &[])))
                .collect();
            assert_eq!(view_active_ms(&mut parts), whole);
            // The parts' spans and the short gaps between them cover the same time.
            let mut spans: Vec<(u32, u32)> = sorted
                .chunks(37)
                .flat_map(|part| spans_of(&stream(part, &[], &[])))
                .collect();
            view_gap_spans(&parts, |s| spans.push((s.start_ms, s.end_ms)));
            let covered: u64 = spans.iter().map(|(a, b)| u64::from(b - a)).sum();
            assert_eq!(covered, whole);
        }
    }
}

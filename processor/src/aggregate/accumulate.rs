//! Streams into a mergeable partial day, the first step of the core.
//!
//! [`accumulate`] adds one stream to a [`DayPartial`]; [`DayPartial::merge`] adds two partials.
//! Grids and counts add up per page and segment; sessions are kept by id, and their page views
//! by index, so that batches, wherever they were stored, combine into one view with one scroll
//! depth.

use heatpipe_core::agg::PageAgg;
use heatpipe_core::page::PageKey;
use heatpipe_core::segment::write_segment_key;
use heatpipe_core::stream_ref::StreamRef;
use serde::{Deserialize, Serialize};

use crate::aggregate::grids::{SegmentCounts, add_to_grids, segment_of};
use crate::aggregate::pending::PendingGrids;
use crate::aggregate::view::{Names, SessionAcc};
use crate::types::{FastMap, session_key};

/// A partial day: what some of the day's chunks hold. Merges by addition.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct DayPartial {
    /// Page aggregates by page key; `views` and scroll depth are filled in when finalizing.
    pub pages: FastMap<String, PageAgg>,
    /// Sessions by [`session_key`] of their id.
    pub sessions: FastMap<u128, SessionAcc>,
    pub streams: u64,
    pub events: u64,
    /// Events outside the grids' bounds (negative or absurdly far coordinates).
    pub events_off_grid: u64,
    /// Where [`accumulate`] writes each stream's segment key.
    #[serde(skip)]
    segment_key_buffer: String,
    /// The strings this partial's page views share.
    #[serde(skip)]
    names: Names,
}

/// Adds one stream to `partial`, segmenting by the tag keys in `segment_tags`. Looking up the
/// page, its segment and the page view allocates nothing; only a new page, segment or view does.
pub fn accumulate(partial: &mut DayPartial, stream: &StreamRef<'_>, segment_tags: &[String]) {
    let key = session_key(stream.session_id);
    accumulate_to(partial, None, stream, key, segment_tags);
}

/// Adds one stream to `partial` as [`accumulate`] does, but queues its grid events and segment
/// counts in `pending`: `partial`'s segments lack them until [`PendingGrids::apply_to`] is
/// called. `session` is the [`session_key`] of the stream's session, hashed already.
pub(crate) fn accumulate_queued(
    partial: &mut DayPartial,
    pending: &mut PendingGrids,
    stream: &StreamRef<'_>,
    session: u128,
    segment_tags: &[String],
) {
    accumulate_to(partial, Some(pending), stream, session, segment_tags);
}

fn accumulate_to(
    partial: &mut DayPartial,
    pending: Option<&mut PendingGrids>,
    stream: &StreamRef<'_>,
    session: u128,
    segment_tags: &[String],
) {
    let page = &stream.page;
    let key = PageKey::of(page.url);
    let key = key.as_str();
    write_segment_key(
        &mut partial.segment_key_buffer,
        page.device,
        page.viewport_width_px,
        page.tags,
        segment_tags,
    );
    let segment_name = partial.segment_key_buffer.as_str();
    let pages = &mut partial.pages;
    partial.events_off_grid += match pending {
        Some(pending) => pending.push(pages, page.url, key, segment_name, stream),
        None => {
            let Some(segment) = segment_of(pages, page.url, key, segment_name) else {
                return;
            };
            SegmentCounts::of(stream).add_to(segment);
            add_to_grids(segment, stream)
        }
    };
    partial.streams += 1;
    partial.events += stream.num_events() as u64;

    partial
        .sessions
        .entry(session)
        .or_insert_with(|| SessionAcc::new(stream.session_id))
        .add_batch(stream, key, segment_name, &mut partial.names);
}

/// Adds two sets of page aggregates (the smaller into the larger).
pub fn merge_pages(
    mut pages: FastMap<String, PageAgg>,
    mut other: FastMap<String, PageAgg>,
) -> FastMap<String, PageAgg> {
    if other.len() > pages.len() {
        std::mem::swap(&mut pages, &mut other);
    }
    for (key, page) in other {
        match pages.get_mut(&key) {
            Some(existing) => existing.merge(&page),
            None => {
                pages.insert(key, page);
            }
        }
    }
    pages
}

impl DayPartial {
    /// Adds `other` into this partial.
    pub fn merge(mut self, mut other: DayPartial) -> DayPartial {
        // Insert the smaller partial's sessions into the larger one's map.
        if other.sessions.len() > self.sessions.len() {
            std::mem::swap(&mut self.sessions, &mut other.sessions);
        }
        self.pages = merge_pages(std::mem::take(&mut self.pages), other.pages);
        for (key, session) in other.sessions {
            match self.sessions.get_mut(&key) {
                Some(existing) => existing.merge(session),
                None => {
                    self.sessions.insert(key, session);
                }
            }
        }
        self.streams += other.streams;
        self.events += other.events;
        self.events_off_grid += other.events_off_grid;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::event::Stream;
    use heatpipe_fixtures::{TrafficSpec, generate_traffic};

    fn traffic() -> Vec<Stream> {
        generate_traffic(&TrafficSpec {
            seed: 3,
            origin: "https://demo.example".into(),
            num_sessions: 60,
            window_ms: 1_763_769_600_000..1_763_856_000_000,
        })
    }

    fn fold(streams: &[Stream]) -> DayPartial {
        let mut partial = DayPartial::default();
        for stream in streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &[]));
        }
        partial
    }

    #[test]
    fn merging_partials_equals_accumulating_everything() {
        let streams = traffic();
        let whole = fold(&streams);
        let expected = crate::aggregate::finalize::finalize(whole.clone()).expect("finalize");
        for split in [0, 1, streams.len() / 3, streams.len() - 1] {
            let merged = fold(&streams[..split]).merge(fold(&streams[split..]));
            assert_eq!(merged.pages, whole.pages, "split at {split}");
            assert_eq!(
                merged.sessions.len(),
                whole.sessions.len(),
                "split at {split}"
            );
            assert_eq!(
                (merged.streams, merged.events),
                (whole.streams, whole.events)
            );
            // Page views hold their events in arrival order until finalizing sorts them.
            assert_eq!(
                crate::aggregate::finalize::finalize(merged).expect("finalize"),
                expected,
                "split at {split}"
            );
        }
    }

    #[test]
    fn grids_hold_every_event_exactly_once() {
        let streams = traffic();
        let partial = fold(&streams);
        let clicks: u64 = streams.iter().map(|s| s.clicks.len() as u64).sum();
        let moves: u64 = streams.iter().map(|s| s.moves.len() as u64).sum();
        let grid_clicks: u64 = partial
            .pages
            .values()
            .flat_map(|p| p.segments.values())
            .map(|s| s.click_grid.total())
            .sum();
        let grid_moves: u64 = partial
            .pages
            .values()
            .flat_map(|p| p.segments.values())
            .map(|s| s.move_grid.total())
            .sum();
        assert_eq!(
            (grid_clicks, grid_moves, partial.events_off_grid),
            (clicks, moves, 0)
        );
    }
}

//! The pure core of processing: streams in, a mergeable partial result out, no I/O.
//!
//! [`accumulate`] adds one stream to a [`DayPartial`]; [`DayPartial::merge`] adds two partials.
//! Grids and counts add up per page and segment; page views are kept by (session, index) so that
//! their batches, wherever they were stored, combine into one view with one scroll depth.

use std::collections::HashMap;
use std::sync::Arc;

/// The partial's maps: hashed with foldhash (randomly seeded per process), much faster than
/// SipHash on these short keys.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use heatpipe_core::agg::{PageAgg, SegmentAgg};
use heatpipe_core::event::{DeviceClass, TargetPoint};
use heatpipe_core::page::PageKey;
use heatpipe_core::segment::write_segment_key;
use heatpipe_core::stream_ref::StreamRef;
use serde::{Deserialize, Serialize};

/// A block holding some of a session's batches, with its chunk's key shared by every session in
/// the chunk. The session index numbers the chunks when the day is finalized.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockAt {
    pub chunk_key: Arc<str>,
    /// Offset of the compressed block from the start of the chunk object.
    pub offset: u64,
    pub compressed_len: u32,
    pub raw_len: u32,
    pub crc32: u32,
    pub num_streams: u32,
}

/// A click as kept for a page view until its frustration signals are found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClickRecord {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
    pub selector: String,
    pub inside: Option<(u16, u16)>,
}

impl ClickRecord {
    pub fn inside_point(&self) -> Option<TargetPoint> {
        self.inside.map(|(x, y)| TargetPoint {
            x_permyriad: x,
            y_permyriad: y,
        })
    }
}

/// Everything known of one page view so far, from any number of its batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageViewAcc {
    pub session_id: String,
    /// The page view's index within its session.
    pub index: u32,
    pub url: String,
    pub page_key: String,
    /// The segment of the view's earliest batch (lowest sequence number).
    pub segment: String,
    pub first_batch_seq: u64,
    pub device: DeviceClass,
    /// The page's tags, kept for the session's first page view only (see `session_tags`).
    pub tags: Vec<(String, String)>,
    pub started_at_ms: i64,
    /// Viewport height at load: where the fold is.
    pub fold_px: u32,
    pub document_height_px: u32,
    pub deepest_px: u32,
    pub last_t_ms: u32,
    pub moves: u64,
    pub clicks: Vec<ClickRecord>,
    /// Window scroll positions (t, y).
    pub scrolls: Vec<(u32, i32)>,
    /// Each batch's first event time and the document height it reported.
    pub heights: Vec<(u32, u32)>,
}

impl PageViewAcc {
    fn merge(&mut self, other: PageViewAcc) {
        if other.first_batch_seq < self.first_batch_seq {
            self.first_batch_seq = other.first_batch_seq;
            self.segment = other.segment;
            self.device = other.device;
            self.tags = other.tags;
            self.fold_px = other.fold_px;
        }
        self.started_at_ms = self.started_at_ms.min(other.started_at_ms);
        self.document_height_px = self.document_height_px.max(other.document_height_px);
        self.deepest_px = self.deepest_px.max(other.deepest_px);
        self.last_t_ms = self.last_t_ms.max(other.last_t_ms);
        self.moves += other.moves;
        self.clicks.extend(other.clicks);
        self.scrolls.extend(other.scrolls);
        self.heights.extend(other.heights);
    }
}

/// A partial day: what some of the day's chunks hold. Merges by addition.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct DayPartial {
    /// Page aggregates by page key; `views` and scroll depth are filled in when finalizing.
    pub pages: FastMap<String, PageAgg>,
    /// Page views by [`page_view_key`] of (session id, page view index).
    /// Boxed, so the table that grows to a million entries on a busy day moves pointers, not
    /// records, each time it doubles.
    pub page_views: FastMap<u128, Box<PageViewAcc>>,
    /// Where each session's blocks are stored.
    pub session_blocks: FastMap<String, Vec<BlockAt>>,
    pub streams: u64,
    pub events: u64,
    /// Events outside the grids' bounds (negative or absurdly far coordinates).
    pub events_off_grid: u64,
    /// Where [`accumulate`] writes each stream's segment key.
    #[serde(skip)]
    segment_key_buffer: String,
}

/// Adds one stream to `partial`, segmenting by the tag keys in `segment_tags`. Looking up the
/// page, its segment and the page view allocates nothing; only a new page, segment or view does.
pub fn accumulate(partial: &mut DayPartial, stream: &StreamRef<'_>, segment_tags: &[String]) {
    let page = &stream.page;
    let key = PageKey::of(page.url);
    let key = key.as_str();
    if !partial.pages.contains_key(key) {
        let agg = PageAgg::new(page.url.to_owned(), key.to_owned());
        partial.pages.insert(key.to_owned(), agg);
    }
    let Some(agg) = partial.pages.get_mut(key) else {
        return;
    };
    let segment_name = &mut partial.segment_key_buffer;
    write_segment_key(
        segment_name,
        page.device,
        page.viewport_width_px,
        page.tags,
        segment_tags,
    );
    if !agg.segments.contains_key(segment_name.as_str()) {
        agg.segments
            .insert(segment_name.clone(), SegmentAgg::default());
    }
    let Some(segment) = agg.segments.get_mut(segment_name.as_str()) else {
        return;
    };
    add_to_grids(segment, stream, &mut partial.events_off_grid);
    partial.streams += 1;
    partial.events += stream.num_events() as u64;

    let view_key = page_view_key(stream.session_id, stream.page_view_index);
    match partial.page_views.get_mut(&view_key) {
        Some(view) => view.absorb(stream, segment_name),
        None => {
            let view = PageViewAcc::start(stream, key, segment_name);
            partial.page_views.insert(view_key, Box::new(view));
        }
    }
}

/// Adds a stream's counts, clicks and moves to its segment's grids; counts the events that fall
/// outside them in `off_grid`.
fn add_to_grids(segment: &mut SegmentAgg, stream: &StreamRef<'_>, off_grid: &mut u64) {
    let page = &stream.page;
    // Grids cover the largest document seen (whatever order streams come in, so partials merge
    // to the same shape), sized once instead of regrowing as events arrive.
    segment
        .click_grid
        .reserve_page(page.document_width_px, page.document_height_px);
    segment
        .move_grid
        .reserve_page(page.document_width_px, page.document_height_px);
    segment.clicks += stream.clicks.len() as u64;
    segment.moves += stream.moves.len() as u64;
    segment.scrolls += stream.scrolls.len() as u64;
    segment.max_document_width_px = segment.max_document_width_px.max(page.document_width_px);
    segment.max_document_height_px = segment.max_document_height_px.max(page.document_height_px);
    let mut outside = 0;
    for click in stream.clicks {
        outside += u64::from(!segment.click_grid.add(click.x, click.y));
    }
    for point in stream.moves {
        outside += u64::from(!segment.move_grid.add(point.x, point.y));
    }
    *off_grid += outside;
}

/// The key of a page view in [`DayPartial::page_views`]: a 128-bit hash of the session id and
/// the page view's index, so that looking a view up allocates nothing.
pub fn page_view_key(session_id: &str, page_view_index: u32) -> u128 {
    session_hash(session_id, u64::from(page_view_index))
}

/// A 128-bit hash of a session id and a number (a page view index, a batch sequence number),
/// computed without building the pair.
pub(crate) fn session_hash(session_id: &str, number: u64) -> u128 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(session_id.as_bytes());
    hasher.update(&[0]);
    hasher.update(&number.to_le_bytes());
    hasher.digest128()
}

/// The tags a page view keeps: only the session's first view needs them (the session index
/// shows the session's tags); the view's segment key already holds the ones that segment.
fn session_tags(stream: &StreamRef<'_>) -> Vec<(String, String)> {
    if stream.page_view_index == 0 {
        stream
            .page
            .tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    } else {
        Vec::new()
    }
}

fn click_records<'s>(stream: &'s StreamRef<'_>) -> impl Iterator<Item = ClickRecord> + 's {
    stream.clicks.iter().map(|c| ClickRecord {
        t_ms: c.t_ms,
        x: c.x,
        y: c.y,
        selector: c.selector.to_owned(),
        inside: c.inside.map(|p| (p.x_permyriad, p.y_permyriad)),
    })
}

impl PageViewAcc {
    /// A page view as its first-seen batch shows it.
    fn start(stream: &StreamRef<'_>, page_key: &str, segment: &str) -> Self {
        let page = &stream.page;
        PageViewAcc {
            session_id: stream.session_id.to_owned(),
            index: stream.page_view_index,
            url: page.url.to_owned(),
            page_key: page_key.to_owned(),
            segment: segment.to_owned(),
            first_batch_seq: stream.batch_seq,
            device: page.device,
            tags: session_tags(stream),
            started_at_ms: page.started_at_ms,
            fold_px: page.viewport_height_px,
            document_height_px: page.document_height_px,
            deepest_px: stream.max_depth_px(),
            last_t_ms: stream.last_t_ms(),
            moves: stream.moves.len() as u64,
            clicks: click_records(stream).collect(),
            scrolls: stream.scrolls.iter().map(|s| (s.t_ms, s.y)).collect(),
            heights: vec![(stream.first_t_ms(), page.document_height_px)],
        }
    }

    /// Adds another batch of the same page view.
    fn absorb(&mut self, stream: &StreamRef<'_>, segment: &str) {
        let page = &stream.page;
        if stream.batch_seq < self.first_batch_seq {
            self.first_batch_seq = stream.batch_seq;
            segment.clone_into(&mut self.segment);
            self.device = page.device;
            self.tags = session_tags(stream);
            self.fold_px = page.viewport_height_px;
        }
        self.started_at_ms = self.started_at_ms.min(page.started_at_ms);
        self.document_height_px = self.document_height_px.max(page.document_height_px);
        self.deepest_px = self.deepest_px.max(stream.max_depth_px());
        self.last_t_ms = self.last_t_ms.max(stream.last_t_ms());
        self.moves += stream.moves.len() as u64;
        self.clicks.extend(click_records(stream));
        self.scrolls
            .extend(stream.scrolls.iter().map(|s| (s.t_ms, s.y)));
        self.heights
            .push((stream.first_t_ms(), page.document_height_px));
    }
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
        // Insert the smaller partial's page views into the larger one's map.
        if other.page_views.len() > self.page_views.len() {
            std::mem::swap(&mut self.page_views, &mut other.page_views);
        }
        if other.session_blocks.len() > self.session_blocks.len() {
            std::mem::swap(&mut self.session_blocks, &mut other.session_blocks);
        }
        self.pages = merge_pages(std::mem::take(&mut self.pages), other.pages);
        for (key, view) in other.page_views {
            match self.page_views.get_mut(&key) {
                Some(existing) => existing.merge(*view),
                None => {
                    self.page_views.insert(key, view);
                }
            }
        }
        for (session, blocks) in other.session_blocks {
            self.session_blocks
                .entry(session)
                .or_default()
                .extend(blocks);
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
        let expected = crate::finalize::finalize(whole.clone()).expect("finalize");
        for split in [0, 1, streams.len() / 3, streams.len() - 1] {
            let merged = fold(&streams[..split]).merge(fold(&streams[split..]));
            assert_eq!(merged.pages, whole.pages, "split at {split}");
            assert_eq!(
                merged.page_views.len(),
                whole.page_views.len(),
                "split at {split}"
            );
            assert_eq!(
                (merged.streams, merged.events),
                (whole.streams, whole.events)
            );
            // Page views hold their events in arrival order until finalizing sorts them.
            assert_eq!(
                crate::finalize::finalize(merged).expect("finalize"),
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

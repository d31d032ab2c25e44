//! What is kept of a session until it is finished: its page views, each gathered from any
//! number of batches (the batches of one view may lie in different chunks, shards or windows),
//! and the blocks its batches lie in.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use heatpipe_core::activity::{ActiveSpan, BatchActivity};
use heatpipe_core::event::{ClickReaction, DeviceClass, TargetPoint};
use heatpipe_core::stream_ref::StreamRef;
use serde::{Deserialize, Serialize};

use crate::types::{BlockAt, FastMap};

/// Makes room for one more element, growing by half rather than doubling from four: most
/// sessions have one to three page views (1.9 on average on the benchmark day), and a vector's
/// default first allocation of four views (768 bytes) left half of the views' memory unused.
fn reserve_sparingly<T>(items: &mut Vec<T>) {
    if items.len() == items.capacity() {
        items.reserve_exact((items.len() / 2).max(1));
    }
}

/// A page view's tags: few sets of them recur across a day's sessions, so views share them.
pub type Tags = Arc<[(Arc<str>, Arc<str>)]>;

/// The strings many page views share (URLs, page keys, segment keys, selectors) and their tag
/// sets, each held once per partial: a view or click takes a reference to its strings, not a
/// copy.
#[derive(Debug, Default, Clone)]
pub struct Names {
    names: HashSet<Arc<str>, foldhash::fast::RandomState>,
    /// Tag sets by the hash of their text (sets whose hashes collide share a bucket).
    tag_sets: FastMap<u64, Vec<Tags>>,
}

impl Names {
    /// Returns the shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.names.get(name) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&shared));
        shared
    }

    /// Returns the shared copy of the tag set `tags`.
    pub fn tags(&mut self, tags: &[(&str, &str)]) -> Tags {
        if tags.is_empty() {
            // Allocates nothing: every empty `Arc` slice is one static.
            return Tags::default();
        }
        let hash = self.tag_sets.hasher().hash_one(tags);
        let same = |set: &&Tags| {
            set.len() == tags.len()
                && set
                    .iter()
                    .zip(tags)
                    .all(|((k, v), (key, value))| (&**k, &**v) == (*key, *value))
        };
        if let Some(shared) = self
            .tag_sets
            .get(&hash)
            .and_then(|sets| sets.iter().find(same))
        {
            return Arc::clone(shared);
        }
        let shared: Tags = tags
            .iter()
            .map(|(key, value)| (self.get(key), self.get(value)))
            .collect();
        self.tag_sets
            .entry(hash)
            .or_default()
            .push(Arc::clone(&shared));
        shared
    }
}

/// One session as seen so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAcc {
    pub id: String,
    /// Its page views, sorted by index.
    pub views: Vec<PageViewAcc>,
    /// The blocks holding its batches, in the order they were read (duplicates included).
    pub blocks: Vec<BlockAt>,
}

impl SessionAcc {
    pub(crate) fn new(id: &str) -> Self {
        SessionAcc {
            id: id.to_owned(),
            views: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// Adds a batch of page view `stream.page_view_index`, in segment `segment` of page
    /// `page_key`. Batches mostly come in order, so the view is looked for at the end first.
    pub(crate) fn add_batch(
        &mut self,
        stream: &StreamRef<'_>,
        page_key: &str,
        segment: &str,
        names: &mut Names,
    ) {
        let index = stream.page_view_index;
        match self.view_position(index) {
            Ok(position) => self.views[position].absorb(stream, segment, names),
            Err(position) => {
                let view = PageViewAcc::start(stream, page_key, segment, names);
                reserve_sparingly(&mut self.views);
                self.views.insert(position, view);
            }
        }
    }

    /// Notes that a block holds some of the session's batches.
    pub(crate) fn add_block(&mut self, block: BlockAt) {
        reserve_sparingly(&mut self.blocks);
        self.blocks.push(block);
    }

    /// Where view `index` is (`Ok`), or where it belongs (`Err`).
    fn view_position(&self, index: u32) -> Result<usize, usize> {
        match self.views.last().map(|last| last.index.cmp(&index)) {
            None | Some(Ordering::Less) => Err(self.views.len()),
            Some(Ordering::Equal) => Ok(self.views.len() - 1),
            Some(Ordering::Greater) => self.views.binary_search_by_key(&index, |v| v.index),
        }
    }

    /// Adds what another partial saw of the same session.
    pub(crate) fn merge(&mut self, other: SessionAcc) {
        for view in other.views {
            match self.view_position(view.index) {
                Ok(position) => self.views[position].merge(view),
                Err(position) => self.views.insert(position, view),
            }
        }
        self.blocks.extend(other.blocks);
    }
}

/// A click as kept for a page view until its frustration signals are found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClickRecord {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
    pub selector: Arc<str>,
    pub inside: Option<(u16, u16)>,
    pub reaction: ClickReaction,
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
    /// The page view's index within its session.
    pub index: u32,
    pub url: Arc<str>,
    pub page_key: Arc<str>,
    /// The segment of the view's earliest batch (lowest sequence number).
    pub segment: Arc<str>,
    pub first_batch_seq: u64,
    pub device: DeviceClass,
    /// The page's tags, kept for the session's first page view only (see `session_tags`).
    pub tags: Tags,
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
    /// Each batch's event span and active time, for the view's active time.
    pub activity: Vec<BatchActivity>,
    /// Each batch's active spans, for the attention map.
    pub spans: Vec<ActiveSpan>,
    /// Viewport resizes (t, new height).
    pub resizes: Vec<(u32, u32)>,
    /// The identified visitor's key, from any batch that carried one.
    pub visitor_key: Option<Arc<str>>,
}

impl PageViewAcc {
    pub(crate) fn merge(&mut self, other: PageViewAcc) {
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
        self.activity.extend(other.activity);
        self.spans.extend(other.spans);
        self.resizes.extend(other.resizes);
        if self.visitor_key.is_none() {
            self.visitor_key = other.visitor_key;
        }
    }
}

/// The tags a page view keeps: only the session's first view needs them (the session index
/// shows the session's tags); the view's segment key already holds the ones that segment.
fn session_tags(stream: &StreamRef<'_>, names: &mut Names) -> Tags {
    let tags: &[(&str, &str)] = if stream.page_view_index == 0 {
        stream.page.tags
    } else {
        &[]
    };
    names.tags(tags)
}

/// A page view's first batch's events, with room for [`BATCHES_PER_VIEW_ROOM`] batches like
/// it: a view comes in 2.5 batches on average (benchmark day: 832,500 batches of about 340,000
/// views), and growing each vector batch by batch cost a reallocation for most batches.
fn with_room_for_more<T>(
    events: impl IntoIterator<Item = T, IntoIter: ExactSizeIterator>,
) -> Vec<T> {
    let events = events.into_iter();
    let mut kept = Vec::with_capacity(events.len() * BATCHES_PER_VIEW_ROOM);
    kept.extend(events);
    kept
}

/// How many batches' worth of events a page view's vectors start with room for.
const BATCHES_PER_VIEW_ROOM: usize = 3;

/// A batch's activity; its active spans are added to `spans`.
fn batch_activity(stream: &StreamRef<'_>, spans: &mut Vec<ActiveSpan>) -> Option<BatchActivity> {
    BatchActivity::of_with_spans(stream, |span| spans.push(span))
}

/// A batch's viewport resizes as a view keeps them: (t, new height).
fn resizes_of<'s>(stream: &'s StreamRef<'_>) -> impl Iterator<Item = (u32, u32)> + 's {
    stream.resizes.iter().map(|r| (r.t_ms, r.height_px))
}

fn click_records<'s>(
    stream: &'s StreamRef<'_>,
    names: &'s mut Names,
) -> impl ExactSizeIterator<Item = ClickRecord> + 's {
    stream.clicks.iter().map(|c| ClickRecord {
        t_ms: c.t_ms,
        x: c.x,
        y: c.y,
        selector: names.get(c.selector),
        inside: c.inside.map(|p| (p.x_permyriad, p.y_permyriad)),
        reaction: c.reaction,
    })
}

impl PageViewAcc {
    /// A page view as its first-seen batch shows it.
    pub(crate) fn start(
        stream: &StreamRef<'_>,
        page_key: &str,
        segment: &str,
        names: &mut Names,
    ) -> Self {
        let page = &stream.page;
        let mut spans = Vec::new();
        let activity = with_room_for_more(batch_activity(stream, &mut spans));
        PageViewAcc {
            index: stream.page_view_index,
            url: names.get(page.url),
            page_key: names.get(page_key),
            segment: names.get(segment),
            first_batch_seq: stream.batch_seq,
            device: page.device,
            tags: session_tags(stream, names),
            started_at_ms: page.started_at_ms,
            fold_px: page.viewport_height_px,
            document_height_px: page.document_height_px,
            deepest_px: stream.max_depth_px(),
            last_t_ms: stream.last_t_ms(),
            moves: stream.moves.len() as u64,
            clicks: with_room_for_more(click_records(stream, names)),
            scrolls: with_room_for_more(stream.scrolls.iter().map(|s| (s.t_ms, s.y))),
            heights: with_room_for_more([(stream.first_t_ms(), page.document_height_px)]),
            activity,
            spans,
            resizes: resizes_of(stream).collect(),
            visitor_key: page.visitor_key.map(|key| names.get(key)),
        }
    }

    /// Adds another batch of the same page view.
    pub(crate) fn absorb(&mut self, stream: &StreamRef<'_>, segment: &str, names: &mut Names) {
        let page = &stream.page;
        if stream.batch_seq < self.first_batch_seq {
            self.first_batch_seq = stream.batch_seq;
            self.segment = names.get(segment);
            self.device = page.device;
            self.tags = session_tags(stream, names);
            self.fold_px = page.viewport_height_px;
        }
        self.started_at_ms = self.started_at_ms.min(page.started_at_ms);
        self.document_height_px = self.document_height_px.max(page.document_height_px);
        self.deepest_px = self.deepest_px.max(stream.max_depth_px());
        self.last_t_ms = self.last_t_ms.max(stream.last_t_ms());
        self.moves += stream.moves.len() as u64;
        self.clicks.extend(click_records(stream, names));
        self.scrolls
            .extend(stream.scrolls.iter().map(|s| (s.t_ms, s.y)));
        self.heights
            .push((stream.first_t_ms(), page.document_height_px));
        self.activity
            .extend(batch_activity(stream, &mut self.spans));
        self.resizes.extend(resizes_of(stream));
        if self.visitor_key.is_none() {
            self.visitor_key = page.visitor_key.map(|key| names.get(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::event::Stream;
    use heatpipe_fixtures::SessionBuilder;

    /// Three page views; the second in two batches.
    fn batches() -> Vec<Stream> {
        let mut streams = SessionBuilder::new("s1", "https://shop.example/", 1_000)
            .click(100, 10, 10, "#a")
            .next_page("https://shop.example/cart", 5_000)
            .click(200, 20, 20, "#b")
            .next_page("https://shop.example/", 5_000)
            .scroll(300, 400)
            .build();
        let mut later = streams[1].clone();
        later.batch_seq = 7;
        later.clicks[0].t_ms = 900;
        streams.push(later);
        streams
    }

    fn session_of(streams: &[Stream], names: &mut Names) -> SessionAcc {
        let mut session = SessionAcc::new("s1");
        for stream in streams {
            stream.with_ref(|stream| session.add_batch(stream, "key", "segment", names));
        }
        session
    }

    /// The session with each view's events in time order (finishing sorts them).
    fn events_sorted(mut session: SessionAcc) -> SessionAcc {
        for view in &mut session.views {
            view.clicks.sort_unstable();
            view.heights.sort_unstable();
            view.activity.sort_unstable();
            view.spans.sort_unstable();
            view.resizes.sort_unstable();
        }
        session
    }

    #[test]
    fn views_stay_sorted_by_index_whatever_order_batches_come_in() {
        let streams = batches();
        let mut names = Names::default();
        let in_order = session_of(&streams, &mut names);
        assert_eq!(
            in_order.views.iter().map(|v| v.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(in_order.views[1].clicks.len(), 2);
        assert_eq!(in_order.views[1].heights.len(), 2);
        let reversed: Vec<Stream> = streams.iter().rev().cloned().collect();
        let out_of_order = session_of(&reversed, &mut names);
        assert_eq!(events_sorted(out_of_order), events_sorted(in_order));
    }

    #[test]
    fn merging_what_two_partials_saw_equals_seeing_everything() {
        let streams = batches();
        let mut names = Names::default();
        let whole = session_of(&streams, &mut names);
        // The last and first batches on one side, the middle ones on the other.
        let mut merged = session_of(&[streams[3].clone(), streams[0].clone()], &mut names);
        merged.merge(session_of(&streams[1..3], &mut names));
        let merged = events_sorted(merged);
        assert_eq!(merged, events_sorted(whole));
        // One shared copy of each selector, however many clicks name it.
        assert!(Arc::ptr_eq(
            &merged.views[1].clicks[0].selector,
            &merged.views[1].clicks[1].selector
        ));
    }

    #[test]
    fn views_with_the_same_tags_share_one_set() {
        let mut names = Names::default();
        let first = names.tags(&[("variant", "B"), ("visitor", "new")]);
        let again = names.tags(&[("variant", "B"), ("visitor", "new")]);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            first.iter().map(|(k, v)| (&**k, &**v)).collect::<Vec<_>>(),
            [("variant", "B"), ("visitor", "new")]
        );
        // Another value, fewer tags, or the same tags in another order: another set.
        for other in [
            &[("variant", "A"), ("visitor", "new")][..],
            &[("variant", "B")],
            &[("visitor", "new"), ("variant", "B")],
        ] {
            let set = names.tags(other);
            assert!(!Arc::ptr_eq(&first, &set));
            assert_eq!(set.len(), other.len());
        }
        assert!(Arc::ptr_eq(&names.tags(&[]), &names.tags(&[])));
        assert!(names.tags(&[]).is_empty());
    }
}

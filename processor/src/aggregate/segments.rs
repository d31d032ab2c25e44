//! What finished page views add to their page segments: views, sessions, scroll depth,
//! attention, frustration counts and element clicks. Each rayon task tallies the sessions it
//! finishes while they are still in cache, without locks, into numbered slots; tallies add up
//! by slot, and [`SegmentSums`] add them up by name, whichever pages they were numbered from,
//! until they are added into the day's pages. Everything tallied is a sum, so the order of sessions and
//! tasks does not change the result.

use std::collections::hash_map::Entry;

use heatpipe_core::agg::{AttentionSums, ElementAgg, PageAgg, ScrollDepth, SegmentAgg};

use crate::aggregate::attention::add_view_attention;
use crate::aggregate::summary::FinishedView;
use crate::types::FastMap;

/// Numbers every (page, segment) of some page maps: `slots[page_key][segment]`, with the names
/// of each slot.
pub(crate) struct SegmentSlots {
    slots: FastMap<String, FastMap<String, usize>>,
    names: Vec<(String, String)>,
}

impl SegmentSlots {
    /// Numbers the segments of every page of `page_maps` (a segment in several maps once).
    pub(crate) fn of<'p>(
        page_maps: impl IntoIterator<Item = &'p FastMap<String, PageAgg>>,
    ) -> Self {
        let mut slots: FastMap<String, FastMap<String, usize>> = FastMap::default();
        let mut names = Vec::new();
        for pages in page_maps {
            for (key, page) in pages {
                let page_slots = slots.entry(key.clone()).or_default();
                for segment in page.segments.keys() {
                    if !page_slots.contains_key(segment) {
                        page_slots.insert(segment.clone(), names.len());
                        names.push((key.clone(), segment.clone()));
                    }
                }
            }
        }
        SegmentSlots { slots, names }
    }

    /// Returns how many slots there are.
    fn len(&self) -> usize {
        self.names.len()
    }

    /// Returns the slot of `segment` of page `page_key`, if numbered.
    fn slot(&self, page_key: &str, segment: &str) -> Option<usize> {
        self.slots.get(page_key)?.get(segment).copied()
    }
}

/// What some finished views add to one segment.
#[derive(Default)]
struct SegmentAdds {
    views: u64,
    sessions: u64,
    rage_clicks: u64,
    dead_clicks: u64,
    scroll: ScrollDepth,
    attention: AttentionSums,
    elements: FastMap<String, ElementAgg>,
}

impl SegmentAdds {
    fn add_view(&mut self, finished: &FinishedView) {
        let FinishedView { view, signals, .. } = finished;
        self.views += 1;
        self.scroll
            .add_view(view.deepest_px, view.document_height_px, view.fold_px);
        add_view_attention(&mut self.attention, view);
        self.rage_clicks += signals.rage_bursts.len() as u64;
        self.dead_clicks += signals.dead_clicks.len() as u64;
        for click in &view.clicks {
            self.with_element(&click.selector, |element| {
                element.add_click(click.inside_point());
            });
        }
        for burst in &signals.rage_bursts {
            if let Some(click) = view.clicks.get(burst.start) {
                self.with_element(&click.selector, |element| element.rage_clicks += 1);
            }
        }
        for &dead in &signals.dead_clicks {
            if let Some(click) = view.clicks.get(dead) {
                self.with_element(&click.selector, |element| element.dead_clicks += 1);
            }
        }
    }

    /// Updates the counts of element `selector`, allocating its name only the first time.
    fn with_element(&mut self, selector: &str, update: impl FnOnce(&mut ElementAgg)) {
        match self.elements.get_mut(selector) {
            Some(element) => update(element),
            None => {
                let mut element = ElementAgg::default();
                update(&mut element);
                self.elements.insert(selector.to_owned(), element);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.views == 0 && self.elements.is_empty()
    }

    fn merge(&mut self, other: SegmentAdds) {
        self.views += other.views;
        self.sessions += other.sessions;
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        self.scroll.merge(&other.scroll);
        self.attention.merge(&other.attention);
        for (selector, element) in other.elements {
            self.elements.entry(selector).or_default().merge(&element);
        }
    }
}

/// What a set of finished sessions adds to every segment, by slot.
pub(crate) struct SegmentTally {
    adds: Vec<SegmentAdds>,
    /// The slot of each view of the session being added.
    view_slots: Vec<Option<usize>>,
}

impl SegmentTally {
    pub(crate) fn new(slots: &SegmentSlots) -> Self {
        SegmentTally {
            adds: (0..slots.len()).map(|_| SegmentAdds::default()).collect(),
            view_slots: Vec::new(),
        }
    }

    /// Adds one session's finished views; a segment counts the session once.
    pub(crate) fn add_session(&mut self, views: &[FinishedView], slots: &SegmentSlots) {
        self.view_slots.clear();
        for (position, finished) in views.iter().enumerate() {
            let slot = slots.slot(&finished.view.page_key, &finished.view.segment);
            self.view_slots.push(slot);
            let Some(slot) = slot else { continue };
            let adds = &mut self.adds[slot];
            adds.add_view(finished);
            if !self.view_slots[..position].contains(&Some(slot)) {
                adds.sessions += 1;
            }
        }
    }

    pub(crate) fn merge(mut self, other: SegmentTally) -> SegmentTally {
        for (adds, other) in self.adds.iter_mut().zip(other.adds) {
            adds.merge(other);
        }
        self
    }

    /// Returns the tally by segment name; `slots` are what it was numbered from.
    pub(crate) fn into_sums(self, slots: &SegmentSlots) -> SegmentSums {
        let mut sums = SegmentSums::default();
        for (adds, names) in self.adds.into_iter().zip(&slots.names) {
            if !adds.is_empty() {
                sums.0.insert(names.clone(), adds);
            }
        }
        sums
    }
}

/// What finished sessions add to segments, by page key and segment key.
#[derive(Default)]
pub(crate) struct SegmentSums(FastMap<(String, String), SegmentAdds>);

impl SegmentSums {
    pub(crate) fn merge(&mut self, other: SegmentSums) {
        for (names, adds) in other.0 {
            match self.0.entry(names) {
                Entry::Occupied(mut sum) => sum.get_mut().merge(adds),
                Entry::Vacant(slot) => {
                    slot.insert(adds);
                }
            }
        }
    }

    /// Adds the sums into `pages`. Every segment tallied was numbered from pages whose
    /// aggregates `pages` holds, so each is there.
    pub(crate) fn add_to(self, pages: &mut FastMap<String, PageAgg>) {
        for ((page_key, segment_key), adds) in self.0 {
            let segment = pages
                .get_mut(&page_key)
                .and_then(|page| page.segments.get_mut(&segment_key));
            if let Some(segment) = segment {
                adds.add_to(segment);
            }
        }
    }
}

impl SegmentAdds {
    fn add_to(self, segment: &mut SegmentAgg) {
        segment.views += self.views;
        segment.sessions += self.sessions;
        segment.rage_clicks += self.rage_clicks;
        segment.dead_clicks += self.dead_clicks;
        segment.scroll.merge(&self.scroll);
        segment.attention.merge(&self.attention.finish());
        for (selector, element) in self.elements {
            segment
                .elements
                .entry(selector)
                .or_default()
                .merge(&element);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::accumulate::{DayPartial, accumulate};
    use crate::aggregate::summary::finish_views;
    use heatpipe_fixtures::{SessionBuilder, TrafficSpec, generate_traffic};

    fn partial_of(streams: &[heatpipe_core::event::Stream]) -> DayPartial {
        let mut partial = DayPartial::default();
        for stream in streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &[]));
        }
        partial
    }

    /// Generated traffic accumulated: its streams, the partial, the partial's session keys
    /// (sorted), its segments numbered, and its pages with every session tallied into them.
    struct Tallied {
        streams: Vec<heatpipe_core::event::Stream>,
        partial: DayPartial,
        keys: Vec<u128>,
        slots: SegmentSlots,
        whole: FastMap<String, PageAgg>,
    }

    fn tallied_traffic(seed: u64, num_sessions: usize) -> Tallied {
        let streams = generate_traffic(&TrafficSpec {
            seed,
            origin: "https://demo.example".into(),
            num_sessions,
            window_ms: 1_763_769_600_000..1_763_856_000_000,
        });
        let partial = partial_of(&streams);
        let mut keys: Vec<u128> = partial.sessions.keys().copied().collect();
        keys.sort_unstable();
        let slots = SegmentSlots::of([&partial.pages]);
        let mut whole = partial.pages.clone();
        tally_of(&partial, &slots, &keys)
            .into_sums(&slots)
            .add_to(&mut whole);
        Tallied {
            streams,
            partial,
            keys,
            slots,
            whole,
        }
    }

    fn tally_of(partial: &DayPartial, slots: &SegmentSlots, sessions: &[u128]) -> SegmentTally {
        let mut tally = SegmentTally::new(slots);
        for key in sessions {
            let mut views = partial.sessions[key].views.clone();
            tally.add_session(&finish_views(&mut views), slots);
        }
        tally
    }

    #[test]
    fn tallies_of_any_split_add_up_to_the_same_segments() {
        let Tallied {
            streams,
            partial,
            keys,
            slots,
            whole,
        } = tallied_traffic(11, 80);
        let clicks: u64 = whole
            .values()
            .flat_map(|page| page.segments.values())
            .flat_map(|segment| segment.elements.values())
            .map(|element| element.clicks)
            .sum();
        let clicked: u64 = streams.iter().map(|s| s.clicks.len() as u64).sum();
        assert_eq!(clicks, clicked, "every click counted on its element once");
        let segments = || whole.values().flat_map(|page| page.segments.values());
        let views: u64 = segments().map(|segment| segment.views).sum();
        let attention_views: u64 = segments().map(|segment| segment.attention.views).sum();
        assert_eq!(
            attention_views, views,
            "every view counted in its attention once"
        );
        let seen_ms: u64 = segments()
            .flat_map(|segment| &segment.attention.band_ms)
            .sum();
        assert!(seen_ms > 0, "the splits below compare attention too");
        for split in [1, keys.len() / 2, keys.len() - 1] {
            let (first, second) = keys.split_at(split);
            let mut pages = partial.pages.clone();
            tally_of(&partial, &slots, second)
                .merge(tally_of(&partial, &slots, first))
                .into_sums(&slots)
                .add_to(&mut pages);
            assert_eq!(pages, whole, "split at {split}");
        }
    }

    #[test]
    fn sums_of_tallies_numbered_from_different_pages_add_up_by_name() {
        let Tallied {
            partial,
            keys,
            slots,
            whole,
            ..
        } = tallied_traffic(12, 60);
        // Another numbering: a page no session viewed comes first and shifts every slot.
        let mut unseen = FastMap::default();
        let mut page = PageAgg::new("https://elsewhere.example/".into(), "0".repeat(16));
        page.segments
            .insert("device=desktop".into(), Default::default());
        unseen.insert(page.key.clone(), page);
        let shifted = SegmentSlots::of([&unseen, &partial.pages]);
        assert_eq!(shifted.len(), slots.len() + 1);
        let (first, second) = keys.split_at(keys.len() / 2);
        let mut sums = tally_of(&partial, &slots, first).into_sums(&slots);
        sums.merge(tally_of(&partial, &shifted, second).into_sums(&shifted));
        let mut pages = partial.pages.clone();
        sums.add_to(&mut pages);
        assert_eq!(pages, whole);
    }

    #[test]
    fn a_session_counts_once_in_a_segment_it_viewed_twice() {
        let home = "https://shop.example/";
        let streams = SessionBuilder::new("s1", home, 1_000)
            .click(1_000, 10, 10, "#a")
            .next_page("https://shop.example/cart", 2_000)
            .next_page(home, 3_000)
            .click(500, 10, 10, "#a")
            .build();
        let partial = partial_of(&streams);
        let slots = SegmentSlots::of([&partial.pages]);
        let keys: Vec<u128> = partial.sessions.keys().copied().collect();
        let mut pages = partial.pages.clone();
        tally_of(&partial, &slots, &keys)
            .into_sums(&slots)
            .add_to(&mut pages);
        let key = heatpipe_core::page::page_key(home);
        let segment = &pages[&key].segments["device=desktop&width=1280"];
        assert_eq!((segment.views, segment.sessions), (2, 1));
        assert_eq!(segment.elements["#a"].clicks, 2);
    }
}

//! Turns a day's merged partial into what is written: page aggregates with views and scroll
//! depth, the page index, and the session index. Output order is fixed (sorted), so the same
//! input always gives the same bytes.

use std::collections::BTreeMap;

use rayon::prelude::*;

use heatpipe_core::agg::{PageAgg, PageIndex, PageSummary, keep_top_elements};
use heatpipe_core::error::FormatError;
use heatpipe_core::session::{BlockRef, SessionIndex, encode_index_parts};

use crate::aggregate::accumulate::DayPartial;
use crate::aggregate::segments::{SegmentSlots, SegmentSums, SegmentTally};
use crate::aggregate::summary::{ChunkNumbers, SessionDone, encode_session, finish_views};
use crate::aggregate::view::SessionAcc;
use crate::types::FastMap;

/// Everything a day's processing writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayOutput {
    pub pages: BTreeMap<String, PageAgg>,
    pub index: PageIndex,
    /// The session index, encoded (`.hps`): it is assembled from sessions encoded as they were
    /// finished, never held as summaries.
    pub session_index: Vec<u8>,
    pub sessions: u64,
}

impl DayOutput {
    /// Decodes the session index.
    pub fn decode_sessions(&self) -> Result<SessionIndex, FormatError> {
        SessionIndex::decode(&self.session_index)
    }
}

/// Completes `partial` into the day's output.
pub fn finalize(partial: DayPartial) -> Result<DayOutput, FormatError> {
    let DayPartial {
        mut pages,
        sessions,
        ..
    } = partial;
    let sessions = finish_sessions(&mut pages, sessions);
    let count = sessions.len() as u64;
    let (session_index, _sessions) = index_sessions(sessions.into_vec())?;
    let (pages, index) = complete_pages(pages);
    Ok(DayOutput {
        pages,
        index,
        session_index,
        sessions: count,
    })
}

/// Finishes `sessions` (every view of each of them): finds their signals, adds their views,
/// depth, elements and signals to `pages`, and summarizes them. Whatever order the sessions
/// come in, what they add to `pages` is a sum, so the result is the same.
pub(crate) fn finish_sessions(
    pages: &mut FastMap<String, PageAgg>,
    sessions: FastMap<u128, SessionAcc>,
) -> DoneBatches {
    let slots = SegmentSlots::of([&*pages]);
    let finished = finish_some(sessions.into_values().collect(), &slots);
    finished.sums.add_to(pages);
    finished.done
}

/// Finished sessions in the batches they were finished in (a task's, a window's): batches are
/// put together without moving the sessions, which are gathered once, into a vector of the
/// right size, when the day's index needs them in one.
#[derive(Default)]
pub(crate) struct DoneBatches {
    batches: Vec<Vec<SessionDone>>,
    len: usize,
}

impl DoneBatches {
    pub(crate) fn push(&mut self, batch: Vec<SessionDone>) {
        self.len += batch.len();
        if !batch.is_empty() {
            self.batches.push(batch);
        }
    }

    pub(crate) fn append(&mut self, other: DoneBatches) {
        self.len += other.len;
        self.batches.extend(other.batches);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every session, in one vector.
    pub(crate) fn into_vec(self) -> Vec<SessionDone> {
        let mut batches = self.batches.into_iter();
        let Some(mut all) = batches.next() else {
            return Vec::new();
        };
        all.reserve_exact(self.len - all.len());
        for batch in batches {
            all.extend(batch);
        }
        all
    }
}

/// Some finished sessions, and what they add to their segments, by name: sessions finished
/// before the rest of their pass (see `pipeline::pass`) wait as one until the pass's pages are
/// added up.
#[derive(Default)]
pub(crate) struct FinishedGroup {
    pub(crate) done: DoneBatches,
    pub(crate) sums: SegmentSums,
}

impl FinishedGroup {
    pub(crate) fn add(&mut self, other: FinishedGroup) {
        self.done.append(other.done);
        self.sums.merge(other.sums);
    }
}

/// Finishes `sessions`, whose views name segments numbered in `slots`: their summaries, and
/// what they add to their segments.
pub(crate) fn finish_some(sessions: Vec<SessionAcc>, slots: &SegmentSlots) -> FinishedGroup {
    // Sessions are independent; each task tallies what its sessions add to the segments while
    // their views are in cache, and frees the views as it goes.
    let start = || (Vec::new(), SegmentTally::new(slots));
    let (done, tally) = sessions
        .into_par_iter()
        .fold(start, |(mut done, mut tally), session| {
            let SessionAcc {
                id,
                mut views,
                blocks,
            } = session;
            let finished = finish_views(&mut views);
            tally.add_session(&finished, slots);
            done.push(encode_session(id, &finished, blocks));
            (done, tally)
        })
        .map(|(done, tally)| {
            let mut batches = DoneBatches::default();
            batches.push(done);
            (batches, tally)
        })
        .reduce(
            || (DoneBatches::default(), SegmentTally::new(slots)),
            |(mut done, tally), (more, other)| {
                done.append(more);
                (done, tally.merge(other))
            },
        );
    FinishedGroup {
        done,
        sums: tally.into_sums(slots),
    }
}

/// The session index of `sessions`, finished in memory: chunks numbered, sessions sorted.
/// Returns the sessions too, for the caller to free once its outputs are written (see
/// [`Retired`]).
pub(crate) fn index_sessions(
    mut sessions: Vec<SessionDone>,
) -> Result<(Vec<u8>, Retired), FormatError> {
    let chunks = ChunkNumbers::of(sessions.iter().flat_map(|s| &s.blocks));
    sessions.par_sort_unstable_by(SessionDone::index_order);
    let parts: Vec<(&[u8], Vec<BlockRef>)> = sessions
        .par_iter()
        .map(|session| (&session.head[..], chunks.number_blocks(&session.blocks)))
        .collect();
    let index = encode_index_parts(&chunks.keys, &parts)?;
    // The parts borrow the heads, so that numbering frees nothing.
    drop(parts);
    Ok((index, Retired(sessions)))
}

/// What a finished day no longer needs but has not freed: freeing a quarter of a million
/// sessions (their ids, heads, and blocks whose chunk keys a few thousand shared counts track)
/// takes tens of milliseconds, which a run spends after its outputs are written, on the rayon
/// pool, where a process that exits next does not wait for it.
#[must_use = "freed at once when dropped; `free_later` frees it on the rayon pool"]
pub(crate) struct Retired(Vec<SessionDone>);

impl Retired {
    pub(crate) fn none() -> Self {
        Retired(Vec::new())
    }

    /// Frees it on the rayon pool.
    pub(crate) fn free_later(self) {
        if !self.0.is_empty() {
            rayon::spawn(move || drop(self));
        }
    }
}

/// The day's pages, every session's views added, completed: each segment keeps its most
/// clicked elements. Returns them in key order, with the page index that lists them.
pub(crate) fn complete_pages(
    mut pages: FastMap<String, PageAgg>,
) -> (BTreeMap<String, PageAgg>, PageIndex) {
    pages
        .par_iter_mut()
        .flat_map(|(_, page)| page.segments.par_iter_mut())
        .for_each(|(_, segment)| keep_top_elements(&mut segment.elements));
    let pages: BTreeMap<String, PageAgg> = pages.into_iter().collect();
    let index = page_index(&pages);
    (pages, index)
}

fn page_index(pages: &BTreeMap<String, PageAgg>) -> PageIndex {
    PageIndex {
        pages: pages
            .values()
            .map(|page| {
                let total = page.combined(|_| true);
                PageSummary {
                    url: page.url.clone(),
                    key: page.key.clone(),
                    views: total.views,
                    sessions: total.sessions,
                    clicks: total.clicks,
                    moves: total.moves,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::accumulate::accumulate;
    use heatpipe_core::session::Frustration;
    use heatpipe_fixtures::SessionBuilder;

    #[test]
    fn views_sessions_and_depth_count_each_page_view_once() {
        let url = "https://shop.example/";
        let mut streams = SessionBuilder::new("s1", url, 1_000)
            .scroll(100, 1200)
            .click(200, 10, 10, "#a")
            .build();
        // A second batch of the same page view, deeper.
        let mut later = streams[0].clone();
        later.batch_seq = 1;
        later.scrolls = vec![heatpipe_core::event::Scroll {
            t_ms: 9_000,
            y: 2200,
        }];
        later.clicks.clear();
        streams.push(later);
        streams.extend(
            SessionBuilder::new("s2", url, 2_000)
                .next_page("https://shop.example/cart", 5_000)
                .build(),
        );
        let mut partial = DayPartial::default();
        for stream in &streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &[]));
        }
        let output = finalize(partial).expect("finalize");
        let sessions = output.decode_sessions().expect("session index");
        let home = &output
            .index
            .pages
            .iter()
            .find(|p| p.url == url)
            .expect("home");
        assert_eq!((home.views, home.sessions, home.clicks), (2, 2, 1));
        let segment = &output.pages[&home.key].segments["device=desktop&width=1280"];
        // s1 reached 2200 + 800 = 3000 px; s2 stayed at the 800 px fold.
        assert_eq!(segment.scroll.reached_px()[300], (3000, 1));
        assert_eq!(segment.scroll.reached_px()[80], (800, 2));
        let s1 = sessions.sessions.iter().find(|s| s.id == "s1").expect("s1");
        assert_eq!(
            (s1.duration_ms, s1.num_clicks, s1.page_views.len()),
            (9_000, 1, 1)
        );
        let s2 = sessions.sessions.iter().find(|s| s.id == "s2").expect("s2");
        assert_eq!(
            s2.page_views.iter().map(|v| v.index).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(s2.duration_ms, 5_000);
    }

    #[test]
    fn sessions_carry_frustration_signals_and_elements_their_counts() {
        let home = "https://shop.example/";
        let streams = SessionBuilder::new("s1", home, 1_000)
            .tag("variant", "B")
            // Three clicks on #buy within 400 ms: one rage click, not dead (a scroll follows).
            .click(1_000, 100, 100, "#buy")
            .click(1_200, 102, 101, "#buy")
            .click(1_400, 99, 100, "#buy")
            .scroll(1_500, 300)
            // A click on the logo that nothing follows: dead.
            .click(3_000, 500, 40, "#logo")
            .moves(&[(6_000, 10, 10)])
            // Off to the cart, back within 3 s: a quick back.
            .next_page("https://shop.example/cart", 7_000)
            .moves(&[(2_000, 10, 10)])
            .next_page(home, 3_000)
            .build();
        let mut partial = DayPartial::default();
        for stream in &streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &["variant".to_owned()]));
        }
        let output = finalize(partial).expect("finalize");
        let sessions = output.decode_sessions().expect("session index");
        let session = &sessions.sessions[0];
        assert_eq!(
            session.frustration,
            Frustration {
                rage_clicks: 1,
                dead_clicks: 1,
                excessive_scrolls: 0,
                quick_backs: 1,
            }
        );
        assert_eq!(session.page_views[1].frustration.quick_backs, 1);
        assert_eq!(session.page_views[0].frustration.rage_clicks, 1);
        assert_eq!(session.tags, [("variant".to_owned(), "B".to_owned())]);

        let home_key = heatpipe_core::page::page_key(home);
        let segment = &output.pages[&home_key].segments["device=desktop&width=1280&variant=B"];
        assert_eq!(
            (segment.rage_clicks, segment.dead_clicks, segment.views),
            (1, 1, 2)
        );
        let buy = &segment.elements["#buy"];
        assert_eq!((buy.clicks, buy.rage_clicks, buy.dead_clicks), (3, 1, 0));
        // The builder clicks the middle of the box: bin (5, 5) of 10 × 10.
        assert_eq!(buy.inside[5 * 10 + 5], 3);
        let logo = &segment.elements["#logo"];
        assert_eq!((logo.clicks, logo.rage_clicks, logo.dead_clicks), (1, 0, 1));
    }
}

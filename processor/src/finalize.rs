//! Turns a day's merged partial into what is written: page aggregates with views and scroll
//! depth, the page index, and the session index. Output order is fixed (sorted), so the same
//! input always gives the same bytes.

use std::collections::BTreeMap;

use rayon::prelude::*;

use heatpipe_core::agg::{
    ElementAgg, PageAgg, PageIndex, PageSummary, SegmentAgg, keep_top_elements,
};
use heatpipe_core::chunk::FormatError;
use heatpipe_core::session::{BlockRef, SessionIndex, encode_index_parts};

use crate::accumulate::{DayPartial, FastMap};
use crate::summary::{ChunkNumbers, FinishedView, SessionDone, encode_session, finish_views};
use crate::view::SessionAcc;

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

/// A finished session: what is kept of it, its views, and the segment slot of each view.
struct FinishedSession {
    done: SessionDone,
    views: Vec<FinishedView>,
    slots: Vec<Option<usize>>,
}

/// Numbers every (page, segment) of the day, so views can be sent to their segment from many
/// threads: `slots[page_key][segment]`, in the order of `pages` and of each page's segments.
fn segment_slots(pages: &FastMap<String, PageAgg>) -> FastMap<String, FastMap<String, usize>> {
    let mut next = 0;
    pages
        .iter()
        .map(|(key, page)| {
            let segments = page
                .segments
                .keys()
                .map(|segment| {
                    next += 1;
                    (segment.clone(), next - 1)
                })
                .collect();
            (key.clone(), segments)
        })
        .collect()
}

/// Completes `partial` into the day's output.
pub fn finalize(partial: DayPartial) -> Result<DayOutput, FormatError> {
    let DayPartial {
        mut pages,
        sessions,
        ..
    } = partial;
    let sessions = finish_sessions(&mut pages, sessions)?;
    let count = sessions.len() as u64;
    Ok(complete_day(pages, index_sessions(sessions)?, count))
}

/// Finishes `sessions` (every view of each of them): finds their signals, adds their views,
/// depth, elements and signals to `pages`, and summarizes them. Whatever order the sessions
/// come in, what they add to `pages` is a sum, so the result is the same.
pub(crate) fn finish_sessions(
    pages: &mut FastMap<String, PageAgg>,
    sessions: FastMap<u128, SessionAcc>,
) -> Result<Vec<SessionDone>, FormatError> {
    let slots = segment_slots(pages);
    let sessions: Vec<SessionAcc> = sessions.into_values().collect();
    // Sessions are independent until their views are added to the page segments.
    let finished: Vec<FinishedSession> = sessions
        .into_par_iter()
        .map(|SessionAcc { id, views, blocks }| {
            let views = finish_views(views);
            let slots = views
                .iter()
                .map(|v| {
                    slots
                        .get(&*v.view.page_key)
                        .and_then(|segments| segments.get(&*v.view.segment))
                        .copied()
                })
                .collect();
            Ok(FinishedSession {
                done: encode_session(id, &views, blocks)?,
                views,
                slots,
            })
        })
        .collect::<Result<_, FormatError>>()?;
    add_to_segments(pages, &finished);
    let mut done = Vec::with_capacity(finished.len());
    let mut leftovers = Vec::with_capacity(finished.len());
    for session in finished {
        done.push(session.done);
        leftovers.push(session.views);
    }
    // Freed on every core: a day holds millions of small allocations.
    leftovers.into_par_iter().for_each(drop);
    Ok(done)
}

/// The session index of `sessions`, finished in memory: chunks numbered, sessions sorted.
pub(crate) fn index_sessions(mut sessions: Vec<SessionDone>) -> Result<Vec<u8>, FormatError> {
    let chunks = ChunkNumbers::of(sessions.iter().flat_map(|s| &s.blocks));
    sessions.par_sort_unstable_by(SessionDone::index_order);
    let parts: Vec<(Vec<u8>, Vec<BlockRef>)> = sessions
        .into_par_iter()
        .map(|session| {
            let blocks = chunks.number_blocks(&session.blocks);
            (session.head, blocks)
        })
        .collect();
    let index = encode_index_parts(&chunks.keys, &parts);
    // Freeing a quarter of a million heads takes tens of milliseconds: off the critical path.
    rayon::spawn(move || drop(parts));
    index
}

/// The day's output from its pages (every session's views added) and its session index
/// (`sessions` sessions): each segment keeps its most clicked elements.
pub(crate) fn complete_day(
    mut pages: FastMap<String, PageAgg>,
    session_index: Vec<u8>,
    sessions: u64,
) -> DayOutput {
    pages
        .par_iter_mut()
        .flat_map(|(_, page)| page.segments.par_iter_mut())
        .for_each(|(_, segment)| keep_top_elements(&mut segment.elements));
    let pages: BTreeMap<String, PageAgg> = pages.into_iter().collect();
    DayOutput {
        index: page_index(&pages),
        pages,
        session_index,
        sessions,
    }
}

/// Adds every finished view to its segment, one segment per task; a segment counts each session
/// once.
fn add_to_segments(pages: &mut FastMap<String, PageAgg>, finished: &[FinishedSession]) {
    let segments: Vec<&mut SegmentAgg> = pages
        .values_mut()
        .flat_map(|page| page.segments.values_mut())
        .collect();
    let mut views_of: Vec<Vec<&FinishedView>> = (0..segments.len()).map(|_| Vec::new()).collect();
    let mut sessions_of = vec![0u64; segments.len()];
    for session in finished {
        let mut seen: Vec<usize> = Vec::new();
        for (view, slot) in session.views.iter().zip(&session.slots) {
            let Some(slot) = *slot else { continue };
            views_of[slot].push(view);
            if !seen.contains(&slot) {
                seen.push(slot);
                sessions_of[slot] += 1;
            }
        }
    }
    segments
        .into_par_iter()
        .zip(views_of)
        .zip(sessions_of)
        .for_each(|((segment, views), sessions)| {
            // Counted in a hash map first: the stored map is ordered, and a tree lookup per
            // click compares selectors at every level.
            let mut elements: FastMap<&str, ElementAgg> = FastMap::default();
            for view in views {
                add_view_to_segment(segment, &mut elements, view);
            }
            for (selector, element) in elements {
                match segment.elements.get_mut(selector) {
                    Some(existing) => existing.merge(&element),
                    None => {
                        segment.elements.insert(selector.to_owned(), element);
                    }
                }
            }
            segment.sessions += sessions;
        });
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

/// Adds one finished page view's views, depth and signals to its segment, and its element
/// clicks to `elements`.
fn add_view_to_segment<'v>(
    segment: &mut SegmentAgg,
    elements: &mut FastMap<&'v str, ElementAgg>,
    finished: &'v FinishedView,
) {
    let FinishedView { view, signals, .. } = finished;
    segment.views += 1;
    segment
        .scroll
        .add_view(view.deepest_px, view.document_height_px, view.fold_px);
    segment.rage_clicks += signals.rage_bursts.len() as u64;
    segment.dead_clicks += signals.dead_clicks.len() as u64;
    for click in &view.clicks {
        elements
            .entry(&click.selector)
            .or_default()
            .add_click(click.inside_point());
    }
    for burst in &signals.rage_bursts {
        if let Some(element) = elements.get_mut(&*view.clicks[burst.start].selector) {
            element.rage_clicks += 1;
        }
    }
    for &click in &signals.dead_clicks {
        if let Some(element) = elements.get_mut(&*view.clicks[click].selector) {
            element.dead_clicks += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::accumulate;
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

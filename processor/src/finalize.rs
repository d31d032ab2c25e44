//! Turns a day's merged partial into what is written: page aggregates with views and scroll
//! depth, the page index, and the session index. Output order is fixed (sorted), so the same
//! input always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use heatpipe_core::agg::{PageAgg, PageIndex, PageSummary, device_segment};
use heatpipe_core::session::{PageViewSummary, SessionIndex, SessionSummary};

use crate::accumulate::{DayPartial, PageViewAcc};

/// Everything a day's processing writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayOutput {
    pub pages: BTreeMap<String, PageAgg>,
    pub index: PageIndex,
    pub sessions: SessionIndex,
}

/// Completes `partial` into the day's output.
pub fn finalize(partial: DayPartial) -> DayOutput {
    let DayPartial {
        mut pages,
        page_views,
        session_blocks,
        ..
    } = partial;
    let mut sessions_per_segment: BTreeSet<(&str, String, &str)> = BTreeSet::new();
    let mut views_by_session: BTreeMap<&str, Vec<(u32, &PageViewAcc)>> = BTreeMap::new();
    for ((session, index), view) in &page_views {
        let segment_key = device_segment(view.device);
        if let Some(segment) = pages
            .get_mut(&view.page_key)
            .and_then(|page| page.segments.get_mut(&segment_key))
        {
            segment.views += 1;
            segment
                .scroll
                .add_view(view.deepest_px, view.document_height_px, view.fold_px);
        }
        sessions_per_segment.insert((view.page_key.as_str(), segment_key, session.as_str()));
        views_by_session
            .entry(session.as_str())
            .or_default()
            .push((*index, view));
    }
    for (page_key, segment_key, _) in &sessions_per_segment {
        if let Some(segment) = pages
            .get_mut(*page_key)
            .and_then(|page| page.segments.get_mut(segment_key))
        {
            segment.sessions += 1;
        }
    }
    let pages: BTreeMap<String, PageAgg> = pages.into_iter().collect();
    let index = PageIndex {
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
    };
    let mut summaries: Vec<SessionSummary> = views_by_session
        .into_iter()
        .map(|(session, mut views)| {
            views.sort_by_key(|(index, _)| *index);
            summarize_session(
                session,
                &views,
                session_blocks.get(session).cloned().unwrap_or_default(),
            )
        })
        .collect();
    summaries.sort_by(|a, b| (a.started_at_ms, &a.id).cmp(&(b.started_at_ms, &b.id)));
    DayOutput {
        pages,
        index,
        sessions: SessionIndex {
            sessions: summaries,
        },
    }
}

fn summarize_session(
    id: &str,
    views: &[(u32, &PageViewAcc)],
    mut blocks: Vec<heatpipe_core::session::BlockRef>,
) -> SessionSummary {
    let started_at_ms = views
        .iter()
        .map(|(_, v)| v.started_at_ms)
        .min()
        .unwrap_or(0);
    let ended_at_ms = views
        .iter()
        .map(|(_, v)| v.started_at_ms + i64::from(v.last_t_ms))
        .max()
        .unwrap_or(started_at_ms);
    blocks.sort_by(|a, b| (&a.chunk_key, a.offset).cmp(&(&b.chunk_key, b.offset)));
    blocks.dedup();
    SessionSummary {
        id: id.to_owned(),
        started_at_ms,
        duration_ms: (ended_at_ms - started_at_ms).max(0) as u64,
        device: views
            .first()
            .map_or(heatpipe_core::event::DeviceClass::Desktop, |(_, v)| {
                v.device
            }),
        num_clicks: views.iter().map(|(_, v)| v.clicks).sum(),
        num_moves: views.iter().map(|(_, v)| v.moves).sum(),
        num_scrolls: views.iter().map(|(_, v)| v.scrolls).sum(),
        page_views: views
            .iter()
            .map(|(index, v)| PageViewSummary {
                index: *index,
                url: v.url.clone(),
                key: v.page_key.clone(),
                started_at_ms: v.started_at_ms,
                duration_ms: u64::from(v.last_t_ms),
            })
            .collect(),
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::accumulate;
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
            accumulate(&mut partial, stream);
        }
        let output = finalize(partial);
        let home = &output
            .index
            .pages
            .iter()
            .find(|p| p.url == url)
            .expect("home");
        assert_eq!((home.views, home.sessions, home.clicks), (2, 2, 1));
        let segment = &output.pages[&home.key].segments["device=desktop"];
        // s1 reached 2200 + 800 = 3000 px; s2 stayed at the 800 px fold.
        assert_eq!(segment.scroll.reached_px()[300], (3000, 1));
        assert_eq!(segment.scroll.reached_px()[80], (800, 2));
        let s1 = output
            .sessions
            .sessions
            .iter()
            .find(|s| s.id == "s1")
            .expect("s1");
        assert_eq!(
            (s1.duration_ms, s1.num_clicks, s1.page_views.len()),
            (9_000, 1, 1)
        );
        let s2 = output
            .sessions
            .sessions
            .iter()
            .find(|s| s.id == "s2")
            .expect("s2");
        assert_eq!(
            s2.page_views.iter().map(|v| v.index).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(s2.duration_ms, 5_000);
    }
}

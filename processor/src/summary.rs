//! One session at a time: a session's page views put in time order with their frustration
//! signals found, its summary encoded for the session index, and the numbering of the day's
//! chunks that the summaries' block references use.

use std::sync::Arc;

use heatpipe_core::event::DeviceClass;
use heatpipe_core::session::{BlockRef, Frustration, PageViewHead, SessionHead};
use heatpipe_core::signals::{ClickAt, ViewSignals, ViewVisit, quick_backs, view_signals};

use crate::accumulate::{BlockAt, FastMap};
use crate::view::PageViewAcc;

/// A page view with its events in time order and its signals found.
pub(crate) struct FinishedView {
    pub(crate) index: u32,
    pub(crate) view: PageViewAcc,
    pub(crate) signals: ViewSignals,
}

/// The day's chunk keys, sorted, each numbered by its position: what a session's blocks point
/// to in the session index.
pub(crate) struct ChunkNumbers {
    pub(crate) keys: Vec<String>,
    numbers: FastMap<Arc<str>, u32>,
}

impl ChunkNumbers {
    pub(crate) fn of<'b>(blocks: impl Iterator<Item = &'b BlockAt>) -> Self {
        // Hashed rather than kept in a tree: a day has hundreds of thousands of block
        // references to a few thousand chunks, and only the distinct keys need sorting.
        let mut numbers: FastMap<Arc<str>, u32> = FastMap::default();
        for block in blocks {
            if !numbers.contains_key(&*block.chunk_key) {
                numbers.insert(Arc::clone(&block.chunk_key), 0);
            }
        }
        let mut keys: Vec<Arc<str>> = numbers.keys().cloned().collect();
        keys.sort_unstable();
        for (number, key) in keys.iter().enumerate() {
            if let Some(slot) = numbers.get_mut(&**key) {
                *slot = number as u32;
            }
        }
        let keys = keys.iter().map(|key| key.to_string()).collect();
        ChunkNumbers { keys, numbers }
    }

    /// Returns `blocks` as the session index stores them.
    pub(crate) fn number_blocks(&self, blocks: &[BlockAt]) -> Vec<BlockRef> {
        blocks
            .iter()
            .filter_map(|block| Some(block.numbered(*self.numbers.get(&block.chunk_key)?)))
            .collect()
    }
}

/// Puts each view's events in time order and finds its signals; `views` are sorted by index.
pub(crate) fn finish_views(views: Vec<PageViewAcc>) -> Vec<FinishedView> {
    let next_starts: Vec<Option<i64>> = (0..views.len())
        .map(|i| views.get(i + 1).map(|next| next.started_at_ms))
        .collect();
    views
        .into_iter()
        .zip(next_starts)
        .map(|(mut view, next_start)| {
            sort_in_time_order(&mut view.clicks);
            sort_in_time_order(&mut view.scrolls);
            sort_in_time_order(&mut view.heights);
            let clicks: Vec<ClickAt> = view
                .clicks
                .iter()
                .map(|c| ClickAt {
                    t_ms: c.t_ms,
                    x: c.x,
                    y: c.y,
                })
                .collect();
            let signals = view_signals(
                &clicks,
                &view.scrolls,
                &view.heights,
                view.last_t_ms,
                view.started_at_ms,
                next_start,
            );
            FinishedView {
                index: view.index,
                view,
                signals,
            }
        })
        .collect()
}

/// Sorts a view's events. Batches mostly arrive in order, so they are nearly always sorted
/// already, which one pass checks more cheaply than the sort does. Equal elements are
/// identical, so an unstable sort gives one order.
fn sort_in_time_order<T: Ord>(events: &mut [T]) {
    if !events.is_sorted() {
        events.sort_unstable();
    }
}

fn view_frustration(signals: &ViewSignals, quick_back: bool) -> Frustration {
    Frustration {
        rage_clicks: signals.rage_bursts.len() as u64,
        dead_clicks: signals.dead_clicks.len() as u64,
        excessive_scrolls: u64::from(signals.excessive_scroll),
        quick_backs: u64::from(quick_back),
    }
}

/// A finished session as kept until the day is complete: its summary encoded but for its
/// blocks, which still name their chunk by key since chunks are numbered across all sessions.
/// Encoded, a session takes a tenth of the memory of its summary's strings and vectors.
pub(crate) struct SessionDone {
    pub(crate) started_at_ms: i64,
    pub(crate) id: String,
    /// The bincode bytes of the session's [`SessionHead`].
    pub(crate) head: Vec<u8>,
    /// Sorted, each once.
    pub(crate) blocks: Vec<BlockAt>,
}

impl SessionDone {
    /// The session index's order: by start time, then id (unique within a day, so the order
    /// is total).
    pub(crate) fn index_order(a: &SessionDone, b: &SessionDone) -> std::cmp::Ordering {
        (a.started_at_ms, &a.id).cmp(&(b.started_at_ms, &b.id))
    }
}

/// Summarizes session `id` from its finished views (sorted by index) and encodes the summary,
/// but for its blocks, which are kept aside.
pub(crate) fn encode_session(
    id: String,
    views: &[FinishedView],
    mut blocks: Vec<BlockAt>,
) -> SessionDone {
    let started_at_ms = views
        .iter()
        .map(|v| v.view.started_at_ms)
        .min()
        .unwrap_or(0);
    let ended_at_ms = views
        .iter()
        .map(|v| v.view.started_at_ms + i64::from(v.view.last_t_ms))
        .max()
        .unwrap_or(started_at_ms);
    let visits: Vec<ViewVisit<'_>> = views
        .iter()
        .map(|v| ViewVisit {
            page_key: &v.view.page_key,
            started_at_ms: v.view.started_at_ms,
        })
        .collect();
    let quick = quick_backs(&visits);
    let page_views: Vec<PageViewHead<'_>> = views
        .iter()
        .enumerate()
        .map(|(position, v)| PageViewHead {
            index: v.index,
            url: &v.view.url,
            key: &v.view.page_key,
            started_at_ms: v.view.started_at_ms,
            duration_ms: u64::from(v.view.last_t_ms),
            frustration: view_frustration(&v.signals, quick.contains(&position)),
        })
        .collect();
    let mut frustration = Frustration::default();
    for view in &page_views {
        frustration.add(&view.frustration);
    }
    let first = views.first().map(|v| &v.view);
    let head = SessionHead {
        id: &id,
        started_at_ms,
        duration_ms: (ended_at_ms - started_at_ms).max(0) as u64,
        device: first.map_or(DeviceClass::Desktop, |v| v.device),
        num_clicks: views.iter().map(|v| v.view.clicks.len() as u64).sum(),
        num_moves: views.iter().map(|v| v.view.moves).sum(),
        num_scrolls: views.iter().map(|v| v.view.scrolls.len() as u64).sum(),
        tags: first.map_or(&[][..], |v| v.tags.as_slice()),
        frustration,
        page_views,
    }
    .encode();
    blocks.sort();
    blocks.dedup();
    SessionDone {
        started_at_ms,
        id,
        head,
        blocks,
    }
}

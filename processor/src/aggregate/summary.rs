//! One session at a time: a session's page views put in time order with their frustration
//! signals found, its summary encoded for the session index, and the numbering of the day's
//! chunks that the summaries' block references use.

use std::sync::Arc;

use heatpipe_core::activity::view_active_ms;
use heatpipe_core::event::DeviceClass;
use heatpipe_core::session::{BlockRef, Frustration, PageViewHead, SessionHead};
use heatpipe_core::signals::{ClickAt, ViewSignals, ViewVisit, quick_backs, view_signals};

use crate::aggregate::view::PageViewAcc;
use crate::types::{BlockAt, FastMap};

/// A page view with its events in time order and its signals found.
pub(crate) struct FinishedView<'v> {
    pub(crate) view: &'v PageViewAcc,
    pub(crate) signals: ViewSignals,
    /// Time with events (see [`heatpipe_core::activity`]).
    pub(crate) active_ms: u64,
}

/// The day's chunk keys, sorted, each numbered by its position: what a session's blocks point
/// to in the session index.
pub(crate) struct ChunkNumbers {
    pub(crate) keys: Vec<String>,
    /// Numbers by the address of a block's shared key, with the key held so that the address
    /// stays its own. Every block read from one fetched chunk shares its key, so a day of
    /// hundreds of thousands of block references hashes a few thousand keys' text, not one per
    /// reference. (Blocks read back from partials each have their own copy: they are numbered
    /// all the same, by the text of each.)
    by_address: FastMap<usize, (u32, Arc<str>)>,
}

/// The address of a shared key: the same for every block holding the same `Arc`.
fn address(key: &Arc<str>) -> usize {
    Arc::as_ptr(key).cast::<u8>() as usize
}

impl ChunkNumbers {
    pub(crate) fn of<'b>(blocks: impl Iterator<Item = &'b BlockAt>) -> Self {
        let mut shared: FastMap<usize, &'b Arc<str>> = FastMap::default();
        for block in blocks {
            shared
                .entry(address(&block.chunk_key))
                .or_insert(&block.chunk_key);
        }
        let mut keys: Vec<&str> = shared.values().map(|key| &***key).collect();
        keys.sort_unstable();
        keys.dedup();
        let by_address = shared
            .iter()
            .map(|(address, key)| {
                let number = keys.binary_search(&&***key).unwrap_or_default();
                (*address, (number as u32, Arc::clone(key)))
            })
            .collect();
        let keys = keys.into_iter().map(str::to_owned).collect();
        ChunkNumbers { keys, by_address }
    }

    /// Returns `blocks` as the session index stores them.
    pub(crate) fn number_blocks(&self, blocks: &[BlockAt]) -> Vec<BlockRef> {
        blocks
            .iter()
            .filter_map(|block| {
                let (number, _) = self.by_address.get(&address(&block.chunk_key))?;
                Some(block.numbered(*number))
            })
            .collect()
    }
}

/// Puts each view's events in time order and finds its signals; `views` are sorted by index.
/// The views stay where they are: what is finished borrows them.
pub(crate) fn finish_views(views: &mut [PageViewAcc]) -> Vec<FinishedView<'_>> {
    let mut clicks: Vec<ClickAt> = Vec::new();
    let mut active = Vec::with_capacity(views.len());
    for view in views.iter_mut() {
        sort_in_time_order(&mut view.clicks);
        sort_in_time_order(&mut view.scrolls);
        sort_in_time_order(&mut view.heights);
        sort_in_time_order(&mut view.spans);
        sort_in_time_order(&mut view.resizes);
        active.push(view_active_ms(&mut view.activity));
    }
    let next_starts = views
        .iter()
        .skip(1)
        .map(|next| Some(next.started_at_ms))
        .chain(std::iter::once(None));
    views
        .iter()
        .zip(next_starts)
        .zip(active)
        .map(|((view, next_start), active_ms)| {
            clicks.clear();
            clicks.extend(view.clicks.iter().map(|c| ClickAt {
                t_ms: c.t_ms,
                x: c.x,
                y: c.y,
                reaction: c.reaction,
            }));
            let signals = view_signals(
                &clicks,
                &view.scrolls,
                &view.heights,
                view.last_t_ms,
                view.started_at_ms,
                next_start,
            );
            FinishedView {
                view,
                signals,
                active_ms,
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

/// The summaries of a session's finished views (sorted by index), each with its frustration
/// signals: a quick back is found from the views around it, so it takes the whole session.
fn view_heads<'v>(views: &'v [FinishedView]) -> Vec<PageViewHead<'v>> {
    let visits: Vec<ViewVisit<'_>> = views
        .iter()
        .map(|v| ViewVisit {
            page_key: &v.view.page_key,
            started_at_ms: v.view.started_at_ms,
        })
        .collect();
    let quick = quick_backs(&visits);
    views
        .iter()
        .enumerate()
        .map(|(position, v)| PageViewHead {
            index: v.view.index,
            url: &v.view.url,
            key: &v.view.page_key,
            started_at_ms: v.view.started_at_ms,
            duration_ms: u64::from(v.view.last_t_ms),
            active_ms: v.active_ms,
            max_depth_px: v.view.deepest_px,
            document_height_px: v.view.document_height_px,
            frustration: view_frustration(&v.signals, quick.contains(&position)),
        })
        .collect()
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
    let page_views = view_heads(views);
    let mut frustration = Frustration::default();
    for view in &page_views {
        frustration.add(&view.frustration);
    }
    let first = views.first().map(|v| &v.view);
    let head = SessionHead {
        id: &id,
        started_at_ms,
        duration_ms: (ended_at_ms - started_at_ms).max(0) as u64,
        active_ms: views.iter().map(|v| v.active_ms).sum(),
        device: first.map_or(DeviceClass::Desktop, |v| v.device),
        num_clicks: views.iter().map(|v| v.view.clicks.len() as u64).sum(),
        num_moves: views.iter().map(|v| v.view.moves).sum(),
        num_scrolls: views.iter().map(|v| v.view.scrolls.len() as u64).sum(),
        tags: first.map_or(&[][..], |v| &v.tags[..]),
        visitor_key: views.iter().find_map(|v| v.view.visitor_key.as_deref()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn block(chunk_key: &Arc<str>, offset: u64) -> BlockAt {
        BlockAt {
            chunk_key: Arc::clone(chunk_key),
            offset,
            compressed_len: 1,
            raw_len: 2,
            crc32: 3,
            num_streams: 4,
            session: 5,
        }
    }

    #[test]
    fn chunks_are_numbered_by_sorted_key_whether_blocks_share_a_key_or_copy_it() {
        let late: Arc<str> = Arc::from("raw/site/2026-11-21/23/c.hpc");
        let early: Arc<str> = Arc::from("raw/site/2026-11-21/00/a.hpc");
        // A copy of the late key, as blocks read back from a partial hold.
        let late_copy: Arc<str> = Arc::from(&*late);
        let blocks = [block(&late, 10), block(&early, 20), block(&late_copy, 30)];
        let chunks = ChunkNumbers::of(blocks.iter());
        assert_eq!(chunks.keys, [&*early, &*late]);
        let numbered = chunks.number_blocks(&blocks);
        assert_eq!(
            numbered
                .iter()
                .map(|b| (b.chunk, b.offset))
                .collect::<Vec<_>>(),
            [(1, 10), (0, 20), (1, 30)]
        );
        // Blocks the numbering never saw name no chunk of it.
        let unseen: Arc<str> = Arc::from("raw/site/2026-11-21/12/b.hpc");
        assert!(chunks.number_blocks(&[block(&unseen, 1)]).is_empty());
    }
}

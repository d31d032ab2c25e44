//! Replay timelines: a session's page views and events in time order, read with ranged GETs of
//! just that session's blocks, with the inactivity a player can skip and the markers it can jump
//! to ([`markers`]).

pub mod markers;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use heatpipe_core::chunk::with_block_streams;
use heatpipe_core::event::Stream;
use heatpipe_core::session::{BlockRef, SessionSummary};
use heatpipe_core::signals::ClickAt;
use heatpipe_io::store::ObjectStore;
use serde::Serialize;

use heatpipe_io::on_rayon;

use crate::error::RenderResult;
use markers::{Inactivity, Marker, ViewEvents, inactivity, markers};

/// One event of a timeline; `t` is milliseconds since the session started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TimelineEvent {
    Move {
        t: i64,
        page_view: u32,
        x: i32,
        y: i32,
    },
    Click {
        t: i64,
        page_view: u32,
        x: i32,
        y: i32,
        selector: String,
    },
    Scroll {
        t: i64,
        page_view: u32,
        y: i32,
    },
    Resize {
        t: i64,
        page_view: u32,
        width: u32,
        height: u32,
    },
}

impl TimelineEvent {
    pub fn t(&self) -> i64 {
        match self {
            TimelineEvent::Move { t, .. }
            | TimelineEvent::Click { t, .. }
            | TimelineEvent::Scroll { t, .. }
            | TimelineEvent::Resize { t, .. } => *t,
        }
    }
}

/// One page view of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePageView {
    pub index: u32,
    pub url: String,
    pub key: String,
    /// When the page view started, in ms since the session started.
    pub t: i64,
    pub duration_ms: u64,
    pub viewport: [u32; 2],
    pub document: [u32; 2],
}

/// The `timeline` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub id: String,
    pub date: String,
    pub started_at: i64,
    pub duration_ms: u64,
    pub device: &'static str,
    pub page_views: Vec<TimelinePageView>,
    pub events: Vec<TimelineEvent>,
    /// Gaps with no event, which a player can skip.
    pub inactivity: Vec<Inactivity>,
    /// Clicks, rage and dead clicks, scroll jumps, navigations… in time order.
    pub markers: Vec<Marker>,
    /// Blocks that could not be read (reported, not fatal).
    pub unreadable_blocks: usize,
}

/// Reads `summary`'s `blocks` (chunk key and block, as [`SessionIndex::session_blocks`] lists
/// them) and builds its timeline.
///
/// [`SessionIndex::session_blocks`]: heatpipe_core::session::SessionIndex::session_blocks
pub async fn build_timeline(
    store: &Arc<dyn ObjectStore>,
    date: NaiveDate,
    summary: SessionSummary,
    blocks: Vec<(String, BlockRef)>,
) -> RenderResult<Timeline> {
    let mut compressed = Vec::with_capacity(blocks.len());
    for (chunk_key, block) in &blocks {
        compressed.push(store.get_range(chunk_key, block.range()).await?);
    }
    Ok(on_rayon(move || assemble(date, summary, &blocks, compressed)).await?)
}

fn assemble(
    date: NaiveDate,
    summary: SessionSummary,
    blocks: &[(String, BlockRef)],
    compressed: Vec<bytes::Bytes>,
) -> Timeline {
    let (streams, unreadable_blocks) = session_streams(&summary.id, blocks, &compressed);
    let mut events = Vec::new();
    let mut views: Vec<(TimelinePageView, ViewEvents)> = Vec::new();
    for stream in &streams {
        let base = stream.page.started_at_ms - summary.started_at_ms;
        add_events(stream, base, &mut events);
        let position = match views
            .iter()
            .position(|(v, _)| v.index == stream.page_view_index)
        {
            Some(position) => position,
            None => {
                views.push(new_view(&summary, stream, base));
                views.len() - 1
            }
        };
        add_view_events(&mut views[position].1, stream);
    }
    // Stable: events of equal time keep their kind order within a batch.
    events.sort_by_key(TimelineEvent::t);
    views.sort_by_key(|(v, _)| v.index);
    let mut view_events: Vec<ViewEvents> = Vec::with_capacity(views.len());
    let mut page_views = Vec::with_capacity(views.len());
    for (page_view, mut activity) in views {
        activity.clicks.sort_by_key(|(c, _)| c.t_ms);
        activity.scrolls.sort_unstable();
        activity.heights.sort_unstable();
        page_views.push(page_view);
        view_events.push(activity);
    }
    Timeline {
        id: summary.id,
        date: date.to_string(),
        started_at: summary.started_at_ms,
        duration_ms: summary.duration_ms,
        device: summary.device.as_str(),
        page_views,
        inactivity: inactivity(events.iter().map(TimelineEvent::t)),
        markers: markers(&view_events),
        events,
        unreadable_blocks,
    }
}

/// Decodes the session's streams from its blocks, once per batch; counts unreadable blocks.
fn session_streams(
    session_id: &str,
    blocks: &[(String, BlockRef)],
    compressed: &[bytes::Bytes],
) -> (Vec<Stream>, usize) {
    let mut streams: Vec<Stream> = Vec::new();
    let mut unreadable_blocks = 0;
    for (number, ((chunk_key, block), bytes)) in blocks.iter().zip(compressed).enumerate() {
        let decoded = with_block_streams(bytes, block.spec(session_id), number, |decoded| {
            // Only this session's streams become owned; the block's others are passed over.
            let mine = decoded.iter().filter(|s| s.session_id == session_id);
            streams.extend(mine.map(|s| s.to_stream()));
        });
        if let Err(err) = decoded {
            tracing::warn!(chunk = %chunk_key, offset = block.offset, error = %err, "skipping unreadable session block");
            unreadable_blocks += 1;
        }
    }
    let mut seen_batches = HashSet::new();
    streams.retain(|stream| seen_batches.insert(stream.batch_seq));
    (streams, unreadable_blocks)
}

/// Adds `stream`'s events to the timeline, `base` ms after the session's start.
fn add_events(stream: &Stream, base: i64, events: &mut Vec<TimelineEvent>) {
    let pv = stream.page_view_index;
    let at = |t_ms: u32| base + i64::from(t_ms);
    events.extend(stream.moves.iter().map(|e| TimelineEvent::Move {
        t: at(e.t_ms),
        page_view: pv,
        x: e.x,
        y: e.y,
    }));
    events.extend(stream.clicks.iter().map(|e| TimelineEvent::Click {
        t: at(e.t_ms),
        page_view: pv,
        x: e.x,
        y: e.y,
        selector: e.selector.clone(),
    }));
    events.extend(stream.scrolls.iter().map(|e| TimelineEvent::Scroll {
        t: at(e.t_ms),
        page_view: pv,
        y: e.y,
    }));
    events.extend(stream.resizes.iter().map(|e| TimelineEvent::Resize {
        t: at(e.t_ms),
        page_view: pv,
        width: e.width_px,
        height: e.height_px,
    }));
}

/// The page view `stream` belongs to, seen for the first time.
fn new_view(
    summary: &SessionSummary,
    stream: &Stream,
    base: i64,
) -> (TimelinePageView, ViewEvents) {
    let index = stream.page_view_index;
    let summary_view = summary.page_views.iter().find(|v| v.index == index);
    let key = summary_view.map_or_else(
        || heatpipe_core::page::page_key(&stream.page.url),
        |v| v.key.clone(),
    );
    let page_view = TimelinePageView {
        index,
        url: stream.page.url.clone(),
        key: key.clone(),
        t: base,
        duration_ms: summary_view.map_or(0, |v| v.duration_ms),
        viewport: [
            stream.page.viewport_width_px,
            stream.page.viewport_height_px,
        ],
        document: [
            stream.page.document_width_px,
            stream.page.document_height_px,
        ],
    };
    let activity = ViewEvents {
        index,
        page_key: key,
        offset_ms: base,
        started_at_ms: stream.page.started_at_ms,
        viewport_height_px: stream.page.viewport_height_px,
        ..ViewEvents::default()
    };
    (page_view, activity)
}

/// Adds `stream`'s clicks, scrolls and document height to its view's activity.
fn add_view_events(view: &mut ViewEvents, stream: &Stream) {
    view.clicks.extend(stream.clicks.iter().map(|c| {
        (
            ClickAt {
                t_ms: c.t_ms,
                x: c.x,
                y: c.y,
                reaction: c.reaction,
            },
            c.selector.clone(),
        )
    }));
    view.scrolls
        .extend(stream.scrolls.iter().map(|s| (s.t_ms, s.y)));
    view.heights
        .push((stream.first_t_ms(), stream.page.document_height_px));
    view.last_t_ms = view.last_t_ms.max(stream.last_t_ms());
}

//! What is kept of a session until it is finished: its page views, each gathered from any
//! number of batches (the batches of one view may lie in different chunks, shards or windows),
//! and the blocks its batches lie in.

use std::cmp::Ordering;

use heatpipe_core::event::{DeviceClass, TargetPoint};
use heatpipe_core::stream_ref::StreamRef;
use serde::{Deserialize, Serialize};

use crate::accumulate::BlockAt;

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
    pub(crate) fn add_batch(&mut self, stream: &StreamRef<'_>, page_key: &str, segment: &str) {
        let index = stream.page_view_index;
        match self.view_position(index) {
            Ok(position) => self.views[position].absorb(stream, segment),
            Err(position) => self
                .views
                .insert(position, PageViewAcc::start(stream, page_key, segment)),
        }
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
    }
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
    pub(crate) fn start(stream: &StreamRef<'_>, page_key: &str, segment: &str) -> Self {
        let page = &stream.page;
        PageViewAcc {
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
    pub(crate) fn absorb(&mut self, stream: &StreamRef<'_>, segment: &str) {
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

//! Page paths: where visitors go after a page, or come from before it. Each session that viewed
//! the page gives one path, from its first view of the page: the next `depth` pages (`"exit"`
//! where the session ended sooner), or the `depth` pages before it in the order they were seen
//! (`"entry"` first where the session started later than that).

use std::collections::HashMap;

use heatpipe_core::session::SessionSummary;
use serde::Serialize;

use crate::error::{RenderError, RenderResult};

/// Leaving the site, in a path after a page.
pub const EXIT: &str = "exit";
/// Arriving on the site, in a path before a page.
pub const ENTRY: &str = "entry";
/// The longest path asked for.
pub const MAX_DEPTH: usize = 4;

/// Which way paths go from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Next,
    Previous,
}

impl Direction {
    /// Parses `next` (the default) or `previous`.
    pub fn parse(text: Option<&str>) -> RenderResult<Self> {
        match text.unwrap_or("") {
            "" | "next" => Ok(Direction::Next),
            "previous" => Ok(Direction::Previous),
            other => Err(RenderError::BadRequest(format!(
                "direction must be next or previous, not {other:?}"
            ))),
        }
    }
}

/// Checks `depth` (1 to [`MAX_DEPTH`], default 1).
pub fn parse_depth(depth: Option<usize>) -> RenderResult<usize> {
    match depth.unwrap_or(1) {
        depth @ 1..=MAX_DEPTH => Ok(depth),
        other => Err(RenderError::BadRequest(format!(
            "depth must be 1 to {MAX_DEPTH}, not {other}"
        ))),
    }
}

/// One path and the sessions that took it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathFigures {
    pub pages: Vec<String>,
    pub sessions: u64,
    /// Of the sessions that viewed the page.
    pub share: f64,
}

/// `GET /api/sites/{site}/paths`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsReport {
    pub page: String,
    pub key: String,
    /// Views of the page, by the sessions counted.
    pub views: u64,
    /// Sessions that viewed the page: each gives one path.
    pub sessions: u64,
    /// Most taken first (ties by pages).
    pub paths: Vec<PathFigures>,
}

/// Gathers the paths from one page one session at a time.
#[derive(Debug)]
pub struct PathsTally {
    key: String,
    direction: Direction,
    depth: usize,
    url: Option<String>,
    views: u64,
    sessions: u64,
    paths: HashMap<Vec<String>, u64>,
}

impl PathsTally {
    /// Paths from page `key`.
    pub fn new(key: &str, direction: Direction, depth: usize) -> Self {
        PathsTally {
            key: key.to_owned(),
            direction,
            depth,
            url: None,
            views: 0,
            sessions: 0,
            paths: HashMap::new(),
        }
    }

    /// Counts session `s`'s path, if it viewed the page.
    pub fn add(&mut self, s: &SessionSummary) {
        let views = &s.page_views;
        let Some(at) = views.iter().position(|v| v.key == self.key) else {
            return;
        };
        self.sessions += 1;
        self.views += views.iter().filter(|v| v.key == self.key).count() as u64;
        if self.url.is_none() {
            self.url = Some(views[at].url.clone());
        }
        let path = match self.direction {
            Direction::Next => {
                let mut path: Vec<String> = views[at + 1..]
                    .iter()
                    .take(self.depth)
                    .map(|v| v.url.clone())
                    .collect();
                if path.len() < self.depth {
                    path.push(EXIT.to_owned());
                }
                path
            }
            Direction::Previous => {
                let from = at.saturating_sub(self.depth);
                let mut path: Vec<String> = Vec::with_capacity(self.depth);
                if at < self.depth {
                    path.push(ENTRY.to_owned());
                }
                path.extend(views[from..at].iter().map(|v| v.url.clone()));
                path
            }
        };
        *self.paths.entry(path).or_default() += 1;
    }

    /// Returns the `limit` most taken paths.
    pub fn finish(self, limit: usize) -> PathsReport {
        let sessions = self.sessions;
        let mut paths: Vec<PathFigures> = self
            .paths
            .into_iter()
            .map(|(pages, count)| PathFigures {
                pages,
                sessions: count,
                share: count as f64 / sessions as f64,
            })
            .collect();
        paths.sort_by(|a, b| {
            b.sessions
                .cmp(&a.sessions)
                .then_with(|| a.pages.cmp(&b.pages))
        });
        paths.truncate(limit);
        PathsReport {
            page: self.url.unwrap_or_default(),
            key: self.key,
            views: self.views,
            sessions,
            paths,
        }
    }
}

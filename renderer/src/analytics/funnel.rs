//! Funnels: the steps a visitor should take in order within one session, how many sessions
//! reached each, and how long they took between steps.
//!
//! A step is a page URL, a page key, or a prefix ending in `*` (`/product/*` matches every URL
//! whose path starts with `/product/`; `https://shop.example/product/*` the same URLs of one
//! origin). A session reaches step k when it viewed pages matching steps 1..=k in that order
//! (other pages in between allowed), the k-th within `within` of the first if a limit is set.
//! Of every way a session could go through the steps, the one reaching the most steps counts,
//! with the earliest views (so the earliest start among the deepest); a session counts once.

use heatpipe_core::page::{is_page_key, normalize_url, page_key};
use heatpipe_core::session::{PageViewSummary, SessionSummary};
use serde::Serialize;

use super::stats::{median_u64, ratio};
use crate::error::{RenderError, RenderResult};

/// Steps a funnel may have, at most.
pub const MAX_STEPS: usize = 10;

/// What a step matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepPattern {
    /// A page, by key (a URL is turned into its key).
    Page(String),
    /// URLs starting with this (normalized) prefix.
    UrlPrefix(String),
    /// URLs whose path is this.
    Path(String),
    /// URLs whose path starts with this.
    PathPrefix(String),
}

impl StepPattern {
    /// Parses one step: a 16-hex page key, an absolute URL, or a path (`/cart`), either of the
    /// latter two maybe ending in `*` for a prefix.
    pub fn parse(step: &str) -> RenderResult<Self> {
        let step = step.trim();
        let bad = |why: String| RenderError::BadRequest(format!("funnel step {step:?}: {why}"));
        if step.is_empty() {
            return Err(bad(
                "a step is a page URL, a page key or a prefix ending in *".into(),
            ));
        }
        if is_page_key(step) {
            return Ok(StepPattern::Page(step.to_owned()));
        }
        let (text, prefix) = match step.strip_suffix('*') {
            Some(text) => (text, true),
            None => (step, false),
        };
        if text.starts_with('/') {
            return Ok(if prefix {
                StepPattern::PathPrefix(text.to_owned())
            } else {
                StepPattern::Path(text.to_owned())
            });
        }
        let url = normalize_url(text, false).map_err(|err| bad(err.to_string()))?;
        Ok(if prefix {
            StepPattern::UrlPrefix(url)
        } else {
            StepPattern::Page(page_key(&url))
        })
    }

    /// Returns whether `view` matches the step.
    pub fn matches(&self, view: &PageViewSummary) -> bool {
        match self {
            StepPattern::Page(key) => &view.key == key,
            StepPattern::UrlPrefix(prefix) => view.url.starts_with(prefix.as_str()),
            StepPattern::Path(path) => url_path(&view.url) == path,
            StepPattern::PathPrefix(prefix) => url_path(&view.url).starts_with(prefix.as_str()),
        }
    }
}

/// The path of an absolute URL (`/` when it has none), without query or fragment.
fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |at| &url[at + 3..]);
    let path = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// A funnel: its steps as given, what each matches, and the time limit from the first step.
#[derive(Debug, Clone)]
pub struct Funnel {
    pub steps: Vec<String>,
    patterns: Vec<StepPattern>,
    pub within_ms: Option<u64>,
}

impl Funnel {
    /// Parses `steps` (comma-separated, 2 to [`MAX_STEPS`]) and `within` (`90s`, `30m`, `2h`,
    /// `1d`; absent: the whole session).
    pub fn parse(steps: Option<&str>, within: Option<&str>) -> RenderResult<Self> {
        let steps: Vec<String> = steps
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !(2..=MAX_STEPS).contains(&steps.len()) {
            return Err(RenderError::BadRequest(format!(
                "steps must list 2 to {MAX_STEPS} pages separated by commas, got {}",
                steps.len()
            )));
        }
        let patterns = steps
            .iter()
            .map(|s| StepPattern::parse(s))
            .collect::<RenderResult<_>>()?;
        Ok(Funnel {
            steps,
            patterns,
            within_ms: within
                .filter(|w| !w.is_empty())
                .map(parse_duration_ms)
                .transpose()?,
        })
    }

    /// Returns how far `session` got: the start time of the view reaching each step, for the
    /// steps it reached (empty: not even the first).
    pub fn progress(&self, session: &SessionSummary) -> Vec<i64> {
        let views = &session.page_views;
        let mut best: Vec<i64> = Vec::new();
        for (start, view) in views.iter().enumerate() {
            if !self.patterns[0].matches(view) {
                continue;
            }
            let mut reached = vec![view.started_at_ms];
            let mut next = start + 1;
            for pattern in &self.patterns[1..] {
                let found = views[next.min(views.len())..]
                    .iter()
                    .position(|v| pattern.matches(v))
                    .map(|offset| next + offset);
                let Some(at) = found else { break };
                let t = views[at].started_at_ms;
                if self
                    .within_ms
                    .is_some_and(|limit| t - view.started_at_ms > limit as i64)
                {
                    break;
                }
                reached.push(t);
                next = at + 1;
            }
            if reached.len() > best.len() {
                best = reached;
            }
            if best.len() == self.patterns.len() {
                break;
            }
        }
        best
    }

    /// Returns how many steps `session` reached.
    pub fn reached(&self, session: &SessionSummary) -> usize {
        self.progress(session).len()
    }
}

/// Parses `90s`, `30m`, `2h` or `1d` into milliseconds.
pub fn parse_duration_ms(text: &str) -> RenderResult<u64> {
    let bad = || {
        RenderError::BadRequest(format!(
            "within must be a number followed by s, m, h or d (30m), not {text:?}"
        ))
    };
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit_ms)
        .filter(|ms| *ms > 0)
        .ok_or_else(bad)
}

/// One step of a funnel's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFigures {
    /// The step's number, from 1.
    pub step: usize,
    /// The step as given.
    pub url: String,
    pub sessions: u64,
    pub from_previous: Option<f64>,
    pub from_first: Option<f64>,
    pub median_ms_from_previous: Option<f64>,
    /// The sessions that reached this step but not the next (None for the last step).
    pub dropped_sessions_url: Option<String>,
}

/// `GET /api/sites/{site}/funnel`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    pub steps: Vec<StepFigures>,
}

/// Gathers a funnel's figures one session at a time.
#[derive(Debug, Clone)]
pub struct FunnelTally {
    /// Sessions reaching each step.
    reached: Vec<u64>,
    /// For each step after the first, the time each session took from the step before.
    gaps_ms: Vec<Vec<u64>>,
}

impl FunnelTally {
    pub fn new(funnel: &Funnel) -> Self {
        FunnelTally {
            reached: vec![0; funnel.steps.len()],
            gaps_ms: vec![Vec::new(); funnel.steps.len()],
        }
    }

    /// Counts a session's progress through the funnel (see [`Funnel::progress`]).
    pub fn add(&mut self, progress: &[i64]) {
        for (step, t) in progress.iter().enumerate() {
            self.reached[step] += 1;
            if step > 0 {
                let gap = (t - progress[step - 1]).max(0) as u64;
                self.gaps_ms[step].push(gap);
            }
        }
    }

    /// Returns the figures; `dropped_url(k)` is the link to sessions that reached exactly `k`
    /// steps.
    pub fn finish(
        mut self,
        funnel: &Funnel,
        dropped_url: impl Fn(usize) -> String,
    ) -> FunnelReport {
        let first = self.reached[0] as f64;
        let last = funnel.steps.len() - 1;
        let steps = (0..funnel.steps.len())
            .map(|step| {
                let sessions = self.reached[step];
                let previous = if step == 0 {
                    sessions
                } else {
                    self.reached[step - 1]
                };
                StepFigures {
                    step: step + 1,
                    url: funnel.steps[step].clone(),
                    sessions,
                    from_previous: ratio(sessions as f64, previous as f64),
                    from_first: ratio(sessions as f64, first),
                    median_ms_from_previous: median_u64(&mut self.gaps_ms[step]),
                    dropped_sessions_url: (step < last).then(|| dropped_url(step + 1)),
                }
            })
            .collect();
        FunnelReport { steps }
    }
}

#[cfg(test)]
mod tests;

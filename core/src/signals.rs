//! Frustration signals: rage clicks, dead clicks, excessive scrolling and quick backs.
//!
//! Pure functions over one page view's activity (or one session's page views), shared by the
//! processor (session index, per-element counts) and the renderer (timeline markers). Every
//! threshold is a constant here and is described in README.

use std::ops::Range;

use crate::event::ClickReaction;

/// A rage click needs at least this many clicks…
pub const RAGE_MIN_CLICKS: usize = 3;
/// …all within this long of the first…
pub const RAGE_WINDOW_MS: u32 = 1_000;
/// …and all within this distance (CSS px) of the first.
pub const RAGE_RADIUS_PX: i64 = 24;
/// A click is dead when nothing follows it within this long.
pub const DEAD_WINDOW_MS: u32 = 1_000;
/// A scroll movement counts as a leg in one direction once it covers this many pixels.
pub const SCROLL_LEG_MIN_PX: i32 = 200;
/// Scrolling is excessive with this many direction reversals…
pub const EXCESSIVE_SCROLL_REVERSALS: usize = 3;
/// …within this long.
pub const EXCESSIVE_SCROLL_WINDOW_MS: u32 = 10_000;
/// A page left within this long, for the page before it, is a quick back.
pub const QUICK_BACK_MS: i64 = 7_000;

/// A click's time and page position, and what the tracker saw the page do after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickAt {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
    pub reaction: ClickReaction,
}

/// What happened during one page view, each list sorted by time (ms since the view started).
#[derive(Debug, Clone, Copy)]
pub struct ViewActivity<'a> {
    pub clicks: &'a [ClickAt],
    /// Window scroll positions: (t, y).
    pub scrolls: &'a [(u32, i32)],
    /// Times at which the page visibly changed (the document's size changed).
    pub changes_ms: &'a [u32],
    /// The time of the view's last recorded event: nothing is known after it.
    pub observed_until_ms: u32,
    /// When the visitor navigated to the session's next page view, if it did.
    pub left_at_ms: Option<u32>,
}

/// The signals found in one page view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewSignals {
    /// Each rage click: a run of click indexes.
    pub rage_bursts: Vec<Range<usize>>,
    /// Indexes of dead clicks.
    pub dead_clicks: Vec<usize>,
    /// Times of scroll direction reversals.
    pub scroll_reversals_ms: Vec<u32>,
    pub excessive_scroll: bool,
}

impl ViewActivity<'_> {
    /// Finds every signal of the view.
    pub fn signals(&self) -> ViewSignals {
        let scroll_reversals_ms = scroll_reversals(self.scrolls);
        ViewSignals {
            rage_bursts: rage_bursts(self.clicks),
            dead_clicks: self.dead_clicks(),
            excessive_scroll: is_excessive(&scroll_reversals_ms),
            scroll_reversals_ms,
        }
    }

    /// A click is dead when, within [`DEAD_WINDOW_MS`] after it, there is no scroll, no page
    /// change and no navigation, while the recording shows that window (a click at the very end
    /// of a recording is not judged: what followed it is unknown). A click after which the
    /// tracker saw the document change (a menu, a modal, a toast, a counter) or the URL change
    /// is never dead; one after which it saw neither is judged on the scroll and navigation
    /// alone, its window being observed; one the tracker did not watch (older trackers, rrweb
    /// recordings) falls back to the document's size.
    fn dead_clicks(&self) -> Vec<usize> {
        fn any_within(mut times: impl Iterator<Item = u32>, from: u32, to: u32) -> bool {
            times.any(|t| t > from && t <= to)
        }
        self.clicks
            .iter()
            .enumerate()
            .filter(|(_, click)| {
                if click.reaction.reacted() {
                    return false;
                }
                let end = click.t_ms.saturating_add(DEAD_WINDOW_MS);
                let watched = click.reaction == ClickReaction::Nothing;
                let observed =
                    watched || self.observed_until_ms >= end || self.left_at_ms.is_some();
                let navigated = self.left_at_ms.is_some_and(|t| t <= end);
                observed
                    && !navigated
                    && !any_within(self.scrolls.iter().map(|s| s.0), click.t_ms, end)
                    && !any_within(self.changes_ms.iter().copied(), click.t_ms, end)
            })
            .map(|(index, _)| index)
            .collect()
    }
}

/// Finds the signals of one page view from what the processor and the replay timeline both keep
/// of it: clicks, scroll positions (t, y), and each batch's (first event time, document height),
/// all in time order and in ms since the view started; `observed_until_ms` is its last event.
/// `view_start_ms` and `next_start_ms` (the session's next view, if any) share one clock.
pub fn view_signals(
    clicks: &[ClickAt],
    scrolls: &[(u32, i32)],
    heights: &[(u32, u32)],
    observed_until_ms: u32,
    view_start_ms: i64,
    next_start_ms: Option<i64>,
) -> ViewSignals {
    ViewActivity {
        clicks,
        scrolls,
        changes_ms: &height_changes(heights),
        observed_until_ms,
        left_at_ms: next_start_ms
            .map(|next| u32::try_from((next - view_start_ms).max(0)).unwrap_or(u32::MAX)),
    }
    .signals()
}

/// Returns the times at which the document's height changed, from (time, height) samples in
/// time order (one per batch): the page changes a dead click looks for.
fn height_changes(heights: &[(u32, u32)]) -> Vec<u32> {
    heights
        .windows(2)
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| w[1].0)
        .collect()
}

/// Finds rage clicks: maximal runs of at least [`RAGE_MIN_CLICKS`] clicks, each within
/// [`RAGE_WINDOW_MS`] and [`RAGE_RADIUS_PX`] of the run's first click. Runs do not overlap.
pub fn rage_bursts(clicks: &[ClickAt]) -> Vec<Range<usize>> {
    let mut bursts = Vec::new();
    let mut start = 0;
    while start < clicks.len() {
        let first = clicks[start];
        let end = start
            + clicks[start..]
                .iter()
                .take_while(|c| {
                    let (dx, dy) = (i64::from(c.x - first.x), i64::from(c.y - first.y));
                    c.t_ms.saturating_sub(first.t_ms) <= RAGE_WINDOW_MS
                        && dx * dx + dy * dy <= RAGE_RADIUS_PX * RAGE_RADIUS_PX
                })
                .count();
        if end - start >= RAGE_MIN_CLICKS {
            bursts.push(start..end);
            start = end;
        } else {
            start += 1;
        }
    }
    bursts
}

/// Returns the times at which scrolling turned around after a leg of at least
/// [`SCROLL_LEG_MIN_PX`] in one direction (small jitters are not turns).
pub fn scroll_reversals(scrolls: &[(u32, i32)]) -> Vec<u32> {
    let mut reversals = Vec::new();
    let Some(&(_, first_y)) = scrolls.first() else {
        return reversals;
    };
    // The extreme of the current leg, and the leg's direction once it is long enough.
    let (mut anchor, mut direction) = (first_y, 0i32);
    for &(t, y) in &scrolls[1..] {
        let moved = y - anchor;
        if direction == 0 {
            if moved.abs() >= SCROLL_LEG_MIN_PX {
                direction = moved.signum();
                anchor = y;
            }
        } else if moved.signum() == direction {
            anchor = y;
        } else if moved.abs() >= SCROLL_LEG_MIN_PX {
            reversals.push(t);
            direction = -direction;
            anchor = y;
        }
    }
    reversals
}

fn is_excessive(reversals_ms: &[u32]) -> bool {
    reversals_ms.windows(EXCESSIVE_SCROLL_REVERSALS).any(|w| {
        w[EXCESSIVE_SCROLL_REVERSALS - 1].saturating_sub(w[0]) <= EXCESSIVE_SCROLL_WINDOW_MS
    })
}

/// One page view of a session, in order: which page, and when it started (Unix ms).
#[derive(Debug, Clone, Copy)]
pub struct ViewVisit<'a> {
    pub page_key: &'a str,
    pub started_at_ms: i64,
}

/// Returns the indexes of quick-back views: a view left within [`QUICK_BACK_MS`] for the page
/// the visitor came from (A → B → A, with B shorter than the threshold; B is the quick back).
pub fn quick_backs(views: &[ViewVisit<'_>]) -> Vec<usize> {
    views
        .windows(3)
        .enumerate()
        .filter(|(_, w)| {
            w[0].page_key == w[2].page_key
                && w[1].page_key != w[0].page_key
                && w[2].started_at_ms - w[1].started_at_ms < QUICK_BACK_MS
        })
        .map(|(index, _)| index + 1)
        .collect()
}

#[cfg(test)]
mod tests;

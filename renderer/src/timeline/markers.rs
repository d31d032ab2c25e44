//! What a replay player needs besides the raw events: the spans where nothing happened (so it
//! can skip them) and markers for the moments worth jumping to (clicks, rage clicks, dead clicks,
//! scroll jumps, excessive scrolling, quick backs). Signals come from
//! [`heatpipe_core::signals`], the same rules the processor counts in the session index.

use heatpipe_core::signals::{ClickAt, ViewVisit, quick_backs, view_signals};
use serde::Serialize;

/// A gap of at least this long between two events is inactivity a player may skip.
pub const INACTIVITY_MIN_MS: i64 = 3_000;
/// A scroll that moves the window at least this far from the previous position is a jump (used
/// when the viewport height is unknown; otherwise a jump is one viewport height or more).
pub const SCROLL_JUMP_DEFAULT_PX: i32 = 800;

/// A span of session time with no event: `[start, end)` in ms since the session started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Inactivity {
    pub start: i64,
    pub end: i64,
}

/// What a marker marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerKind {
    Click,
    RageClick,
    DeadClick,
    ScrollJump,
    ExcessiveScroll,
    QuickBack,
    Navigation,
}

/// A moment worth jumping to; `t` is ms since the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub t: i64,
    pub kind: MarkerKind,
    pub page_view: u32,
    /// Where on the page, for clicks and scroll positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<i32>,
    /// The clicked element, for click markers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// One page view's events, times in ms since the view started, each list sorted by time.
#[derive(Debug, Clone, Default)]
pub struct ViewEvents {
    pub index: u32,
    pub page_key: String,
    /// When the view started, in ms since the session started.
    pub offset_ms: i64,
    pub started_at_ms: i64,
    pub viewport_height_px: u32,
    pub clicks: Vec<(ClickAt, String)>,
    pub scrolls: Vec<(u32, i32)>,
    /// (first event time, document height) of each batch.
    pub heights: Vec<(u32, u32)>,
    pub last_t_ms: u32,
}

/// Returns the gaps of at least [`INACTIVITY_MIN_MS`] between consecutive `times` (sorted).
pub fn inactivity(times: impl IntoIterator<Item = i64>) -> Vec<Inactivity> {
    let mut spans = Vec::new();
    let mut previous: Option<i64> = None;
    for t in times {
        if let Some(before) = previous
            && t - before >= INACTIVITY_MIN_MS
        {
            spans.push(Inactivity {
                start: before,
                end: t,
            });
        }
        previous = Some(previous.map_or(t, |p| p.max(t)));
    }
    spans
}

/// Returns the markers of a session's views (sorted by index), in time order.
pub fn markers(views: &[ViewEvents]) -> Vec<Marker> {
    let mut markers = Vec::new();
    for (position, view) in views.iter().enumerate() {
        let next_offset = views.get(position + 1).map(|next| next.offset_ms);
        view_markers(view, next_offset, &mut markers);
        if position > 0 {
            markers.push(Marker {
                t: view.offset_ms,
                kind: MarkerKind::Navigation,
                page_view: view.index,
                x: None,
                y: None,
                selector: None,
            });
        }
    }
    let visits: Vec<ViewVisit<'_>> = views
        .iter()
        .map(|v| ViewVisit {
            page_key: &v.page_key,
            started_at_ms: v.started_at_ms,
        })
        .collect();
    for quick in quick_backs(&visits) {
        let view = &views[quick];
        markers.push(at(view, 0, MarkerKind::QuickBack));
    }
    markers.sort_by_key(|m| m.t);
    markers
}

fn at(view: &ViewEvents, t_ms: u32, kind: MarkerKind) -> Marker {
    Marker {
        t: view.offset_ms + i64::from(t_ms),
        kind,
        page_view: view.index,
        x: None,
        y: None,
        selector: None,
    }
}

fn view_markers(view: &ViewEvents, next_offset_ms: Option<i64>, out: &mut Vec<Marker>) {
    let clicks: Vec<ClickAt> = view.clicks.iter().map(|(click, _)| *click).collect();
    let signals = view_signals(
        &clicks,
        &view.scrolls,
        &view.heights,
        view.last_t_ms,
        view.offset_ms,
        next_offset_ms,
    );
    let click_marker = |index: usize, kind: MarkerKind| {
        let (click, selector) = &view.clicks[index];
        Marker {
            x: Some(click.x),
            y: Some(click.y),
            selector: Some(selector.clone()),
            ..at(view, click.t_ms, kind)
        }
    };
    for index in 0..view.clicks.len() {
        out.push(click_marker(index, MarkerKind::Click));
    }
    out.extend(
        signals
            .rage_bursts
            .iter()
            .map(|burst| click_marker(burst.start, MarkerKind::RageClick)),
    );
    out.extend(
        signals
            .dead_clicks
            .iter()
            .map(|&i| click_marker(i, MarkerKind::DeadClick)),
    );
    if signals.excessive_scroll
        && let Some(&first_turn) = signals.scroll_reversals_ms.first()
    {
        out.push(at(view, first_turn, MarkerKind::ExcessiveScroll));
    }
    out.extend(scroll_jumps(view).into_iter().map(|(t, y)| Marker {
        y: Some(y),
        ..at(view, t, MarkerKind::ScrollJump)
    }));
}

/// Scrolls that moved the window a viewport height or more from its previous recorded position
/// (the top of the page before the first scroll): the replay cuts there instead of gliding.
fn scroll_jumps(view: &ViewEvents) -> Vec<(u32, i32)> {
    let threshold = if view.viewport_height_px > 0 {
        i32::try_from(view.viewport_height_px).unwrap_or(i32::MAX)
    } else {
        SCROLL_JUMP_DEFAULT_PX
    };
    let mut previous_y = 0;
    let mut jumps = Vec::new();
    for &(t, y) in &view.scrolls {
        if y.abs_diff(previous_y) >= threshold.unsigned_abs() {
            jumps.push((t, y));
        }
        previous_y = y;
    }
    jumps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(t_ms: u32, x: i32, y: i32) -> (ClickAt, String) {
        let reaction = heatpipe_core::event::ClickReaction::NotObserved;
        (
            ClickAt {
                t_ms,
                x,
                y,
                reaction,
            },
            format!("#b{x}"),
        )
    }

    fn view(index: u32, page: &str, offset_ms: i64) -> ViewEvents {
        ViewEvents {
            index,
            page_key: page.into(),
            offset_ms,
            started_at_ms: 1_000_000 + offset_ms,
            viewport_height_px: 700,
            ..ViewEvents::default()
        }
    }

    fn kinds(markers: &[Marker]) -> Vec<(i64, MarkerKind)> {
        markers.iter().map(|m| (m.t, m.kind)).collect()
    }

    #[test]
    fn gaps_of_three_seconds_or_more_are_inactive() {
        assert_eq!(
            inactivity([0, 100, 3_100, 3_200, 9_000]),
            [
                Inactivity {
                    start: 100,
                    end: 3_100
                },
                Inactivity {
                    start: 3_200,
                    end: 9_000
                }
            ]
        );
        assert!(inactivity([0, 2_999]).is_empty());
        assert!(inactivity([]).is_empty());
    }

    #[test]
    fn rage_and_dead_clicks_are_marked_where_they_happened() {
        let mut first = view(0, "a", 0);
        first.clicks = vec![
            click(1_000, 10, 10),
            click(1_200, 12, 10),
            click(1_400, 11, 12),
            click(5_000, 300, 300),
        ];
        // A scroll right after the last click: that one is not dead.
        first.scrolls = vec![(5_300, 400)];
        first.last_t_ms = 9_000;
        let markers = markers(&[first]);
        let found = kinds(&markers);
        assert!(found.contains(&(1_000, MarkerKind::RageClick)));
        assert_eq!(
            found
                .iter()
                .filter(|(_, k)| *k == MarkerKind::DeadClick)
                .map(|(t, _)| *t)
                .collect::<Vec<_>>(),
            [1_000, 1_200, 1_400],
            "the rage burst's clicks changed nothing; the last click was followed by a scroll"
        );
        assert_eq!(
            found
                .iter()
                .filter(|(_, k)| *k == MarkerKind::Click)
                .count(),
            4
        );
        let rage = markers
            .iter()
            .find(|m| m.kind == MarkerKind::RageClick)
            .expect("rage marker");
        assert_eq!(
            (rage.x, rage.y, rage.selector.as_deref()),
            (Some(10), Some(10), Some("#b10"))
        );
    }

    #[test]
    fn a_scroll_of_a_viewport_or_more_is_a_jump_and_small_steps_are_not() {
        let mut one = view(0, "a", 0);
        one.scrolls = vec![(1_000, 100), (1_050, 200), (1_100, 300), (4_000, 1_200)];
        one.last_t_ms = 5_000;
        let found = kinds(&markers(&[one]));
        assert_eq!(found, [(4_000, MarkerKind::ScrollJump)]);
    }

    #[test]
    fn navigations_and_quick_backs_are_marked_at_the_view_start() {
        let mut views = vec![view(0, "a", 0), view(1, "b", 10_000), view(2, "a", 13_000)];
        views.iter_mut().for_each(|v| v.last_t_ms = 100);
        let found = kinds(&markers(&views));
        assert_eq!(
            found,
            [
                (10_000, MarkerKind::Navigation),
                (10_000, MarkerKind::QuickBack),
                (13_000, MarkerKind::Navigation)
            ]
        );
    }
}

//! One test per rule and per edge of each frustration signal.

#![allow(clippy::single_range_in_vec_init)] // a list of one burst is what is meant

use super::*;

fn click(t_ms: u32, x: i32, y: i32) -> ClickAt {
    ClickAt {
        t_ms,
        x,
        y,
        reaction: ClickReaction::NotObserved,
    }
}

fn reacting(t_ms: u32, reaction: ClickReaction) -> ClickAt {
    ClickAt {
        reaction,
        ..click(t_ms, 100, 100)
    }
}

fn view<'a>(
    clicks: &'a [ClickAt],
    scrolls: &'a [(u32, i32)],
    changes_ms: &'a [u32],
    observed_until_ms: u32,
    left_at_ms: Option<u32>,
) -> ViewActivity<'a> {
    ViewActivity {
        clicks,
        scrolls,
        changes_ms,
        observed_until_ms,
        left_at_ms,
    }
}

#[test]
fn three_quick_clicks_in_one_spot_are_one_rage_click() {
    let clicks = [
        click(0, 100, 100),
        click(300, 105, 98),
        click(600, 101, 104),
    ];
    assert_eq!(rage_bursts(&clicks), [0..3]);
}

#[test]
fn two_quick_clicks_are_not_a_rage_click() {
    assert!(rage_bursts(&[click(0, 100, 100), click(100, 100, 100)]).is_empty());
}

#[test]
fn rage_click_edges_are_inclusive_at_one_second_and_the_radius() {
    // The third click is exactly 1 s after the first and exactly 24 px away.
    let at_edges = [
        click(0, 100, 100),
        click(500, 100, 100),
        click(1_000, 124, 100),
    ];
    assert_eq!(rage_bursts(&at_edges), [0..3]);
    let too_late = [
        click(0, 100, 100),
        click(500, 100, 100),
        click(1_001, 100, 100),
    ];
    assert!(rage_bursts(&too_late).is_empty());
    let too_far = [
        click(0, 100, 100),
        click(500, 100, 100),
        click(900, 125, 100),
    ];
    assert!(rage_bursts(&too_far).is_empty());
}

#[test]
fn a_long_run_is_one_rage_click_and_a_later_run_another() {
    let mut clicks: Vec<ClickAt> = (0..6).map(|i| click(i * 150, 300, 300)).collect();
    clicks.extend((0..3).map(|i| click(5_000 + i * 100, 40, 900)));
    assert_eq!(rage_bursts(&clicks), [0..6, 6..9]);
}

#[test]
fn a_rage_run_may_start_after_an_unrelated_click() {
    let clicks = [
        click(0, 900, 900),
        click(200, 10, 10),
        click(400, 12, 10),
        click(600, 10, 12),
    ];
    assert_eq!(rage_bursts(&clicks), [1..4]);
}

#[test]
fn a_click_followed_by_nothing_is_dead() {
    let clicks = [click(1_000, 10, 10)];
    let signals = view(&clicks, &[], &[], 5_000, None).signals();
    assert_eq!(signals.dead_clicks, [0]);
}

#[test]
fn a_scroll_within_the_window_makes_a_click_live() {
    let clicks = [click(1_000, 10, 10)];
    let scrolls = [(1_500, 400)];
    assert!(
        view(&clicks, &scrolls, &[], 5_000, None)
            .signals()
            .dead_clicks
            .is_empty()
    );
    // A scroll before the click does not count.
    let earlier = [(900, 400)];
    assert_eq!(
        view(&clicks, &earlier, &[], 5_000, None)
            .signals()
            .dead_clicks,
        [0]
    );
}

#[test]
fn a_page_change_at_the_window_edge_counts_and_one_after_does_not() {
    let clicks = [click(1_000, 10, 10)];
    assert!(
        view(&clicks, &[], &[2_000], 5_000, None)
            .signals()
            .dead_clicks
            .is_empty()
    );
    assert_eq!(
        view(&clicks, &[], &[2_001], 5_000, None)
            .signals()
            .dead_clicks,
        [0]
    );
}

#[test]
fn navigation_within_the_window_makes_a_click_live() {
    let clicks = [click(1_000, 10, 10)];
    assert!(
        view(&clicks, &[], &[], 1_000, Some(1_400))
            .signals()
            .dead_clicks
            .is_empty()
    );
    // Leaving much later: the click did nothing.
    assert_eq!(
        view(&clicks, &[], &[], 1_000, Some(9_000))
            .signals()
            .dead_clicks,
        [0]
    );
}

#[test]
fn a_click_at_the_end_of_a_recording_is_not_judged() {
    let clicks = [click(1_000, 10, 10)];
    assert!(
        view(&clicks, &[], &[], 1_999, None)
            .signals()
            .dead_clicks
            .is_empty()
    );
    assert_eq!(
        view(&clicks, &[], &[], 2_000, None).signals().dead_clicks,
        [0]
    );
}

#[test]
fn scrolling_back_and_forth_three_times_quickly_is_excessive() {
    let scrolls = [
        (0, 0),
        (1_000, 600),
        (2_000, 100),
        (3_000, 700),
        (4_000, 200),
    ];
    let signals = view(&[], &scrolls, &[], 5_000, None).signals();
    assert_eq!(signals.scroll_reversals_ms, [2_000, 3_000, 4_000]);
    assert!(signals.excessive_scroll);
}

#[test]
fn small_jitters_are_not_reversals() {
    let scrolls = [(0, 0), (500, 150), (1_000, 20), (1_500, 160), (2_000, 10)];
    let signals = view(&[], &scrolls, &[], 5_000, None).signals();
    assert!(signals.scroll_reversals_ms.is_empty());
    assert!(!signals.excessive_scroll);
}

#[test]
fn reversals_spread_out_or_too_few_are_not_excessive() {
    let slow = [
        (0, 0),
        (1_000, 600),
        (6_000, 100),
        (11_000, 700),
        (16_001, 200),
    ];
    let signals = view(&[], &slow, &[], 20_000, None).signals();
    assert_eq!(signals.scroll_reversals_ms.len(), 3);
    assert!(!signals.excessive_scroll);
    let two = [(0, 0), (1_000, 600), (2_000, 100), (3_000, 700)];
    assert!(!view(&[], &two, &[], 5_000, None).signals().excessive_scroll);
}

#[test]
fn leaving_a_page_quickly_for_the_previous_one_is_a_quick_back() {
    let visit = |page_key, started_at_ms| ViewVisit {
        page_key,
        started_at_ms,
    };
    let back = [visit("a", 0), visit("b", 10_000), visit("a", 16_999)];
    assert_eq!(quick_backs(&back), [1]);
    let slow = [visit("a", 0), visit("b", 10_000), visit("a", 17_000)];
    assert!(quick_backs(&slow).is_empty());
    let onward = [visit("a", 0), visit("b", 10_000), visit("c", 11_000)];
    assert!(quick_backs(&onward).is_empty());
    let reloads = [visit("a", 0), visit("a", 1_000), visit("a", 2_000)];
    assert!(quick_backs(&reloads).is_empty());
}

#[test]
fn a_click_the_tracker_saw_change_the_dom_or_the_url_is_never_dead() {
    // A menu, a fixed modal or a cart counter: no scroll, no size change, no navigation.
    for reaction in [ClickReaction::DomChanged, ClickReaction::Navigated] {
        let clicks = [reacting(1_000, reaction)];
        assert!(
            view(&clicks, &[], &[], 5_000, None)
                .signals()
                .dead_clicks
                .is_empty(),
            "{reaction:?}"
        );
    }
}

#[test]
fn a_click_the_tracker_saw_nothing_follow_is_dead_even_at_the_end_of_a_recording() {
    let clicks = [reacting(1_000, ClickReaction::Nothing)];
    assert_eq!(
        view(&clicks, &[], &[], 1_000, None).signals().dead_clicks,
        [0]
    );
    // A scroll in the second after it (an anchor link) still answers it.
    assert!(
        view(&clicks, &[(1_500, 400)], &[], 5_000, None)
            .signals()
            .dead_clicks
            .is_empty()
    );
    // An unwatched click at the very end stays unjudged, as before.
    let unwatched = [reacting(1_000, ClickReaction::NotObserved)];
    assert!(
        view(&unwatched, &[], &[], 1_000, None)
            .signals()
            .dead_clicks
            .is_empty()
    );
}

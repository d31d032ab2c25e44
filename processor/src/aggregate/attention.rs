//! A finished page view's viewport stays (see [`heatpipe_core::agg::attention`]): its active
//! time, from its batches' active spans and the short gaps between batches (the rule of the
//! session index's active time, so the two agree), cut wherever it scrolled or resized, each
//! piece at the scroll offset and viewport height in force then.

use heatpipe_core::activity::{ActiveSpan, view_gap_spans};
use heatpipe_core::agg::{AttentionSums, ViewportStay, attention_limit_px};

use crate::aggregate::view::PageViewAcc;

/// Adds `view` (finished: its events in time order) to `sums`: one view, and its stays.
pub(crate) fn add_view_attention(sums: &mut AttentionSums, view: &PageViewAcc) {
    sums.add_view();
    let limit_px = attention_limit_px(view.document_height_px, view.deepest_px);
    view_stays(view, |stay| sums.add_stay(stay, limit_px));
}

/// Hands `stay` each stay of `view` (finished: its events in time order). Their times add up
/// to the view's active time.
pub(crate) fn view_stays(view: &PageViewAcc, mut stay: impl FnMut(ViewportStay)) {
    for span in &view.spans {
        span_stays(*span, view, &mut stay);
    }
    view_gap_spans(&view.activity, |span| span_stays(span, view, &mut stay));
}

/// Cuts `span` where the view scrolled or resized. Before its first scroll a view is at the
/// top; before its first resize its viewport is the one it loaded with. Events at one time
/// apply in their sorted order, the last one winning.
fn span_stays(span: ActiveSpan, view: &PageViewAcc, stay: &mut impl FnMut(ViewportStay)) {
    let (scrolls, resizes) = (&view.scrolls, &view.resizes);
    let mut next_scroll = scrolls.partition_point(|&(t, _)| t <= span.start_ms);
    let mut next_resize = resizes.partition_point(|&(t, _)| t <= span.start_ms);
    let mut y_px = next_scroll.checked_sub(1).map_or(0, |i| scrolls[i].1);
    let mut height_px = next_resize
        .checked_sub(1)
        .map_or(view.fold_px, |i| resizes[i].1);
    let mut from = span.start_ms;
    while from < span.end_ms {
        let change = [
            scrolls.get(next_scroll).map(|&(t, _)| t),
            resizes.get(next_resize).map(|&(t, _)| t),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u32::MAX);
        let until = change.min(span.end_ms);
        stay(ViewportStay {
            y_px,
            height_px,
            ms: until - from,
        });
        while let Some(&(_, y)) = scrolls.get(next_scroll).filter(|&&(t, _)| t == until) {
            (y_px, next_scroll) = (y, next_scroll + 1);
        }
        while let Some(&(_, h)) = resizes.get(next_resize).filter(|&&(t, _)| t == until) {
            (height_px, next_resize) = (h, next_resize + 1);
        }
        from = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::accumulate::{DayPartial, accumulate};
    use crate::aggregate::finalize::finalize;
    use crate::aggregate::summary::finish_views;
    use heatpipe_core::event::Stream;
    use heatpipe_fixtures::{SessionBuilder, TrafficSpec, generate_traffic};

    const HOME: &str = "https://shop.example/";

    /// Two page views of a 1000 px page through a 400 px viewport: one that pauses, one that
    /// resizes, in two batches.
    fn scroll_paths() -> Vec<Stream> {
        let mut streams = SessionBuilder::new("s1", HOME, 1_000)
            .viewport(1280, 400)
            .document(1280, 1000)
            // At the top 0..1 s, at 300 px 1..2 s; a 5 s pause (left out); at 600 px 7..8 s.
            .moves(&[(0, 5, 5), (2_000, 5, 5)])
            .scroll(1_000, 300)
            .scroll(7_000, 600)
            .moves(&[(8_000, 5, 5)])
            .build();
        let second = SessionBuilder::new("s2", HOME, 2_000)
            .viewport(1280, 400)
            .document(1280, 1000)
            // 400 px tall 0..0.5 s, 200 px from 0.5 s, scrolled to 100 px 1.5..2.5 s.
            .moves(&[(0, 5, 5), (2_500, 5, 5)])
            .resize(500, 1280, 200)
            .scroll(1_500, 100)
            .build();
        // The second view in two batches: the resize in the first, the scroll in the second.
        let mut first_batch = second[0].clone();
        first_batch.moves.truncate(1);
        first_batch.scrolls.clear();
        let mut second_batch = second[0].clone();
        second_batch.batch_seq = 1;
        second_batch.moves.remove(0);
        second_batch.resizes.clear();
        streams.extend([second_batch, first_batch]);
        streams
    }

    fn output_of(streams: &[Stream]) -> crate::aggregate::finalize::DayOutput {
        let mut partial = DayPartial::default();
        for stream in streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &[]));
        }
        finalize(partial).expect("finalize")
    }

    #[test]
    fn bands_hold_the_time_each_was_in_view_on_hand_built_scroll_paths() {
        let output = output_of(&scroll_paths());
        let key = heatpipe_core::page::page_key(HOME);
        let attention = &output.pages[&key].segments["device=desktop&width=1280"].attention;
        let mut expected = vec![0u64; 100];
        let mut add = |bands: std::ops::Range<usize>, ms: u64| {
            expected[bands].iter_mut().for_each(|band| *band += ms);
        };
        // First view: rows 0..400, 300..700 and 600..1000 for a second each.
        add(0..40, 1_000);
        add(30..70, 1_000);
        add(60..100, 1_000);
        // Second view: rows 0..400 for 0.5 s, 0..200 for 1 s, 100..300 for 1 s.
        add(0..40, 500);
        add(0..20, 1_000);
        add(10..30, 1_000);
        assert_eq!(attention.band_ms, expected);
        assert_eq!(attention.views, 2);
        assert_eq!(attention.seconds_per_view(15), 1.75);
        // Their time is the views' active time: 3 s and 2.5 s.
        let sessions = output.decode_sessions().expect("index");
        let active: Vec<u64> = sessions.sessions.iter().map(|s| s.active_ms).collect();
        assert_eq!(active, [3_000, 2_500]);
    }

    #[test]
    fn a_views_stays_last_as_long_as_its_active_time() {
        let streams = generate_traffic(&TrafficSpec {
            seed: 21,
            origin: "https://demo.example".into(),
            num_sessions: 80,
            window_ms: 1_763_769_600_000..1_763_856_000_000,
        });
        let mut partial = DayPartial::default();
        for stream in &streams {
            stream.with_ref(|stream| accumulate(&mut partial, stream, &[]));
        }
        let (mut views, mut stays) = (0, 0);
        for session in partial.sessions.into_values() {
            let mut session_views = session.views;
            for finished in finish_views(&mut session_views) {
                let mut total = 0u64;
                view_stays(finished.view, |stay| {
                    total += u64::from(stay.ms);
                    stays += 1;
                });
                assert_eq!(total, finished.active_ms);
                views += 1;
            }
        }
        assert!(views > 80 && stays > views, "{views} views, {stays} stays");
    }
}

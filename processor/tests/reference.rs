//! The processor's grids and scroll-depth histograms equal a straightforward reference
//! implementation on random streams, whatever order the streams are accumulated and merged in.

use std::collections::{BTreeMap, HashMap};

use heatpipe_core::agg::{GRID_CELL_PX, SCROLL_BUCKET_PX};
use heatpipe_core::event::{
    Click, ClickReaction, DeviceClass, Move, PageView, Resize, Scroll, Stream,
};
use heatpipe_core::page::page_key;
use heatpipe_core::segment::segment_key;
use heatpipe_processor::aggregate::accumulate::{DayPartial, accumulate};
use heatpipe_processor::aggregate::finalize::finalize;
use proptest::prelude::*;

const URLS: [&str; 3] = [
    "https://r.example/",
    "https://r.example/a",
    "https://r.example/b",
];
const WIDTHS: [u32; 3] = [390, 1024, 1440];

/// A random stream: one of a few pages, sessions and page views, viewports and tags.
fn stream_strategy() -> impl Strategy<Value = Stream> {
    (
        (0usize..3, 0usize..6, 0u32..2, 0u64..4),
        (0usize..3, 400u32..1200, prop::option::of(1000u32..9000)),
        prop::collection::vec((0u32..60_000, -20i32..3000, -20i32..9000), 0..30),
        prop::collection::vec((0u32..60_000, -20i32..3000, -20i32..9000), 0..6),
        prop::collection::vec((0u32..60_000, -100i32..8000), 0..6),
        prop::collection::vec((0u32..60_000, 300u32..2000), 0..2),
        prop::sample::select(vec!["A", "B"]),
    )
        .prop_map(
            |(
                (url, session, view, seq),
                (width, height, doc),
                moves,
                clicks,
                scrolls,
                resizes,
                variant,
            )| {
                let mut moves: Vec<Move> = moves
                    .into_iter()
                    .map(|(t_ms, x, y)| Move { t_ms, x, y })
                    .collect();
                moves.sort_by_key(|m| m.t_ms);
                let mut clicks: Vec<Click> = clicks
                    .into_iter()
                    .map(|(t_ms, x, y)| Click {
                        t_ms,
                        x,
                        y,
                        selector: format!("#e{}", x / 500),
                        inside: None,
                        reaction: ClickReaction::NotObserved,
                    })
                    .collect();
                clicks.sort_by_key(|c| c.t_ms);
                let mut scrolls: Vec<Scroll> = scrolls
                    .into_iter()
                    .map(|(t_ms, y)| Scroll { t_ms, y })
                    .collect();
                scrolls.sort_by_key(|s| s.t_ms);
                let mut resizes: Vec<Resize> = resizes
                    .into_iter()
                    .map(|(t_ms, h)| Resize {
                        t_ms,
                        width_px: WIDTHS[url],
                        height_px: h,
                    })
                    .collect();
                resizes.sort_by_key(|r| r.t_ms);
                Stream {
                    session_id: format!("s{session}"),
                    batch_seq: seq,
                    page_view_index: view,
                    page: PageView {
                        url: URLS[url].to_owned(),
                        viewport_width_px: WIDTHS[width],
                        viewport_height_px: height,
                        document_width_px: 1440,
                        document_height_px: doc.unwrap_or(0),
                        device: DeviceClass::from_viewport_width(WIDTHS[width]),
                        started_at_ms: 1_000_000 + i64::from(view) * 100_000,
                        tags: vec![("variant".to_owned(), variant.to_owned())],
                        visitor_key: None,
                    },
                    moves,
                    clicks,
                    scrolls,
                    resizes,
                }
            },
        )
}

type Cell = (String, String, u32, u32);

/// Reference grids: a count per (page, segment, column, row), events with negative or huge
/// coordinates left out.
fn reference_grids(
    streams: &[Stream],
    tags: &[String],
) -> (HashMap<Cell, u64>, HashMap<Cell, u64>) {
    let (mut clicks, mut moves) = (HashMap::new(), HashMap::new());
    for stream in streams {
        let page = page_key(&stream.page.url);
        let segment = segment_key(
            stream.page.device,
            stream.page.viewport_width_px,
            &stream.page.tags,
            tags,
        );
        let cell = |x: i32, y: i32| {
            (x >= 0 && y >= 0 && x < 8192 && y < 65_536).then(|| {
                (
                    page.clone(),
                    segment.clone(),
                    x as u32 / GRID_CELL_PX,
                    y as u32 / GRID_CELL_PX,
                )
            })
        };
        for click in &stream.clicks {
            if let Some(cell) = cell(click.x, click.y) {
                *clicks.entry(cell).or_insert(0) += 1;
            }
        }
        for point in &stream.moves {
            if let Some(cell) = cell(point.x, point.y) {
                *moves.entry(cell).or_insert(0) += 1;
            }
        }
    }
    (clicks, moves)
}

/// Reference scroll depth: each page view's deepest viewport bottom over all its batches,
/// counted once per view in the segment of its earliest batch.
fn reference_depths(streams: &[Stream], tags: &[String]) -> BTreeMap<(String, String), Vec<u64>> {
    let mut views: BTreeMap<(String, u32), (u64, String, String, u32)> = BTreeMap::new();
    for stream in streams {
        // The deepest point of this batch, replaying scrolls and resizes in time order.
        let mut height = stream.page.viewport_height_px;
        let mut deepest = height;
        let mut resizes = stream.resizes.iter().peekable();
        for scroll in &stream.scrolls {
            while let Some(resize) = resizes.next_if(|r| r.t_ms <= scroll.t_ms) {
                height = resize.height_px;
            }
            deepest = deepest.max((scroll.y.max(0) as u32).saturating_add(height));
        }
        let segment = segment_key(
            stream.page.device,
            stream.page.viewport_width_px,
            &stream.page.tags,
            tags,
        );
        let entry = views
            .entry((stream.session_id.clone(), stream.page_view_index))
            .or_insert((u64::MAX, String::new(), String::new(), 0));
        if stream.batch_seq < entry.0 {
            entry.0 = stream.batch_seq;
            entry.2 = segment;
        }
        entry.1 = page_key(&stream.page.url);
        entry.3 = entry.3.max(deepest);
    }
    let mut depths: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (_, (_, page, segment, deepest)) in views {
        let bucket = (deepest.min(65_536) / SCROLL_BUCKET_PX) as usize;
        let histogram = depths.entry((page, segment)).or_default();
        if histogram.len() <= bucket {
            histogram.resize(bucket + 1, 0);
        }
        histogram[bucket] += 1;
    }
    depths
}

/// Keeps one stream per (session, batch): the processor's input never repeats a batch.
fn unique_batches(mut streams: Vec<Stream>) -> Vec<Stream> {
    let mut seen = std::collections::HashSet::new();
    streams.retain(|s| seen.insert((s.session_id.clone(), s.batch_seq)));
    // A page view's URL is fixed; give every batch of a view its first batch's URL.
    let mut urls: HashMap<(String, u32), String> = HashMap::new();
    for stream in &mut streams {
        let url = urls
            .entry((stream.session_id.clone(), stream.page_view_index))
            .or_insert_with(|| stream.page.url.clone());
        stream.page.url = url.clone();
    }
    streams
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn grids_and_scroll_depth_equal_the_reference(
        streams in prop::collection::vec(stream_strategy(), 0..40).prop_map(unique_batches),
        split in 0usize..40,
    ) {
        let tags = vec!["variant".to_owned()];
        let split = split.min(streams.len());
        let mut left = DayPartial::default();
        for stream in &streams[..split] {
            stream.with_ref(|stream| accumulate(&mut left, stream, &tags));
        }
        let mut right = DayPartial::default();
        for stream in streams[split..].iter().rev() {
            stream.with_ref(|stream| accumulate(&mut right, stream, &tags));
        }
        let output = finalize(right.merge(left)).expect("finalize");

        let (want_clicks, want_moves) = reference_grids(&streams, &tags);
        let (mut got_clicks, mut got_moves) = (HashMap::new(), HashMap::new());
        for (page, agg) in &output.pages {
            for (segment, seg) in &agg.segments {
                for (grid, got) in [(&seg.click_grid, &mut got_clicks), (&seg.move_grid, &mut got_moves)] {
                    for row in 0..grid.rows {
                        for col in 0..grid.cols {
                            let count = grid.get(col, row);
                            if count > 0 {
                                got.insert((page.clone(), segment.clone(), col, row), u64::from(count));
                            }
                        }
                    }
                }
            }
        }
        prop_assert_eq!(got_clicks, want_clicks);
        prop_assert_eq!(got_moves, want_moves);

        let mut got_depths = BTreeMap::new();
        for (page, agg) in &output.pages {
            for (segment, seg) in &agg.segments {
                if seg.scroll.views > 0 {
                    got_depths.insert((page.clone(), segment.clone()), seg.scroll.deepest_px.clone());
                }
            }
        }
        prop_assert_eq!(got_depths, reference_depths(&streams, &tags));
    }
}

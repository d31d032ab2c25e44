//! One page's heatmap image from its aggregates: the code shared by the HTTP endpoint and the
//! `heatpipe render` batch command.

use heatpipe_core::agg::{GRID_CELL_PX, PageAgg, SCROLL_BUCKET_PX, SegmentAgg};
use heatpipe_core::event::DeviceClass;
use heatpipe_core::segment::SegmentFilter;

use crate::attention_map::render_attention_map;
use crate::error::{RenderError, RenderResult};
use crate::png::{HeatmapStyle, IndexedImage, Palette, check_size, render_density};
use crate::scroll_map::render_scroll_map;

/// Which events a heatmap shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatmapKind {
    Click,
    Move,
    Scroll,
    /// Seconds each band of rows was in view, per page view.
    Attention,
}

impl HeatmapKind {
    pub const ALL: [HeatmapKind; 4] = [
        HeatmapKind::Click,
        HeatmapKind::Move,
        HeatmapKind::Scroll,
        HeatmapKind::Attention,
    ];

    pub fn parse(value: Option<&str>) -> RenderResult<Self> {
        match value {
            None | Some("click") => Ok(HeatmapKind::Click),
            Some("move") => Ok(HeatmapKind::Move),
            Some("scroll") => Ok(HeatmapKind::Scroll),
            Some("attention") => Ok(HeatmapKind::Attention),
            Some(other) => Err(RenderError::BadRequest(format!(
                "kind must be click, move, scroll or attention, not {other:?}"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HeatmapKind::Click => "click",
            HeatmapKind::Move => "move",
            HeatmapKind::Scroll => "scroll",
            HeatmapKind::Attention => "attention",
        }
    }

    /// The kernel radius used when a request names none.
    pub fn default_radius_px(self) -> u32 {
        if self == HeatmapKind::Move { 24 } else { 32 }
    }
}

/// Everything that decides a heatmap image besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapRequest {
    pub kind: HeatmapKind,
    /// `None`: every device.
    pub device: Option<DeviceClass>,
    /// Other segment dimensions required (`variant`, `B`; `visitor`, `returning`; `width`, `375`).
    pub segment: Vec<(String, String)>,
    /// `None`: the page's own width.
    pub width_px: Option<u32>,
    pub radius_px: u32,
    pub palette: Palette,
    pub opacity: f32,
}

impl HeatmapRequest {
    /// The defaults for `kind`: every device, the page's width, the classic palette.
    pub fn new(kind: HeatmapKind) -> Self {
        HeatmapRequest {
            kind,
            device: None,
            segment: Vec::new(),
            width_px: None,
            radius_px: kind.default_radius_px(),
            palette: Palette::Classic,
            opacity: 0.85,
        }
    }

    /// Returns the segment this request shows: the chosen device, or all of them summed.
    pub fn segment_of(&self, page: &PageAgg) -> SegmentAgg {
        let filter = self.filter();
        page.combined(|name| filter.matches(name))
    }

    /// Returns which stored segments the request sums.
    pub fn filter(&self) -> SegmentFilter {
        let mut filter = SegmentFilter {
            required: self.segment.clone(),
        };
        if let Some(device) = self.device {
            filter = filter.with("device", device.as_str());
        }
        filter
    }
}

/// Returns the page size to draw: the widest and tallest the page was seen, or where events reach.
pub fn page_size(segment: &SegmentAgg, width_px: Option<u32>) -> (u32, u32) {
    let grid_width = segment.click_grid.cols.max(segment.move_grid.cols) * GRID_CELL_PX;
    let grid_height = segment.click_grid.rows.max(segment.move_grid.rows) * GRID_CELL_PX;
    let deepest = segment.scroll.deepest_px.len() as u32 * SCROLL_BUCKET_PX;
    let width = width_px
        .unwrap_or_else(|| segment.max_document_width_px.max(grid_width))
        .max(1);
    let height = segment
        .max_document_height_px
        .max(grid_height)
        .max(deepest)
        .max(1);
    (width, height)
}

/// Renders `segment` as palette indexes per `request`. CPU-bound: call it off the async runtime.
pub fn render_segment_image(
    segment: &SegmentAgg,
    request: &HeatmapRequest,
) -> RenderResult<IndexedImage> {
    let (width_px, height_px) = page_size(segment, request.width_px);
    check_size(width_px, height_px)?;
    let style = HeatmapStyle {
        width_px,
        height_px,
        radius_px: request.radius_px,
        palette: request.palette,
        opacity: request.opacity,
    };
    Ok(match request.kind {
        HeatmapKind::Click => render_density(&segment.click_grid, &style),
        HeatmapKind::Move => render_density(&segment.move_grid, &style),
        HeatmapKind::Scroll => render_scroll_map(
            &segment.scroll,
            width_px,
            height_px,
            request.palette,
            request.opacity,
        ),
        HeatmapKind::Attention => render_attention_map(
            &segment.attention,
            width_px,
            height_px,
            request.palette,
            request.opacity,
        ),
    })
}

/// Renders `segment` as a PNG per `request`. CPU-bound: call it off the async runtime.
pub fn render_segment_png(segment: &SegmentAgg, request: &HeatmapRequest) -> RenderResult<Vec<u8>> {
    render_segment_image(segment, request)?.encode_png()
}

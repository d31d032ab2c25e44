//! The dashboard: what a marketer reads before any heatmap. For the range, for each day and for
//! the top pages: sessions, page views, pages per session, active time (median and mean), scroll
//! depth (mean and median) and the share of sessions with each frustration signal. The
//! definitions are README's (section "Dashboard"); a page's figures are those of its sessions
//! restricted to their views of that page.

use std::collections::HashMap;

use chrono::NaiveDate;
use heatpipe_core::session::{Frustration, PageViewSummary, SessionSummary};
use serde::Serialize;

use super::links::{FigureLinks, SessionsLink};
use super::stats::{mean_f64, mean_u64, median_f64, median_u64, ratio};

/// The figures of one set of sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub sessions: u64,
    pub page_views: u64,
    pub pages_per_session: Option<f64>,
    pub active_ms_median: Option<f64>,
    pub active_ms_mean: Option<f64>,
    pub scroll_depth_percent_mean: Option<f64>,
    pub scroll_depth_percent_median: Option<f64>,
    pub rage_click_share: Option<f64>,
    pub dead_click_share: Option<f64>,
    pub excessive_scroll_share: Option<f64>,
    pub quick_back_share: Option<f64>,
}

/// What the figures are computed from, gathered one session at a time.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    sessions: u64,
    page_views: u64,
    /// Each session's active time.
    active_ms: Vec<u64>,
    /// Each page view's scroll depth, where its document height is known.
    depths: Vec<f64>,
    /// Sessions with rage clicks, dead clicks, excessive scrolling, quick backs.
    with_signal: [u64; 4],
}

impl Tally {
    /// Counts a session made of `views`, active for `active_ms`, with `frustration`.
    pub fn add<'a>(
        &mut self,
        views: impl Iterator<Item = &'a PageViewSummary>,
        active_ms: u64,
        frustration: &Frustration,
    ) {
        self.sessions += 1;
        for view in views {
            self.page_views += 1;
            self.depths.extend(view.scroll_depth_percent());
        }
        self.active_ms.push(active_ms);
        for (count, kind) in self.with_signal.iter_mut().zip(Frustration::KINDS) {
            if frustration.count(kind).unwrap_or(0) > 0 {
                *count += 1;
            }
        }
    }

    /// Returns the figures (sorts the tally's lists).
    pub fn figures(&mut self) -> Figures {
        let sessions = self.sessions as f64;
        let share = |count: u64| ratio(count as f64, sessions);
        Figures {
            sessions: self.sessions,
            page_views: self.page_views,
            pages_per_session: ratio(self.page_views as f64, sessions),
            active_ms_median: median_u64(&mut self.active_ms),
            active_ms_mean: mean_u64(&self.active_ms),
            scroll_depth_percent_mean: mean_f64(&self.depths),
            scroll_depth_percent_median: median_f64(&mut self.depths),
            rage_click_share: share(self.with_signal[0]),
            dead_click_share: share(self.with_signal[1]),
            excessive_scroll_share: share(self.with_signal[2]),
            quick_back_share: share(self.with_signal[3]),
        }
    }
}

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayFigures {
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub links: FigureLinks,
}

/// One page's figures: its sessions, restricted to their views of the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageFigures {
    pub url: String,
    pub key: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub links: FigureLinks,
}

/// `GET /api/sites/{site}/dashboard`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    #[serde(flatten)]
    pub figures: Figures,
    pub links: FigureLinks,
    pub days: Vec<DayFigures>,
    /// The pages with the most views, most first (ties by URL).
    pub pages: Vec<PageFigures>,
}

/// A page's tally, with the URL its first view gave.
struct PageTally {
    url: String,
    tally: Tally,
}

/// Gathers the dashboard one session at a time.
pub struct DashboardTally {
    whole: Tally,
    /// One per day of the range, in order.
    days: Vec<(NaiveDate, Tally)>,
    pages: HashMap<String, PageTally>,
}

impl DashboardTally {
    /// A tally over `days` (the range, oldest first).
    pub fn new(days: &[NaiveDate]) -> Self {
        DashboardTally {
            whole: Tally::default(),
            days: days.iter().map(|day| (*day, Tally::default())).collect(),
            pages: HashMap::new(),
        }
    }

    /// Counts session `s` of day `date`.
    pub fn add(&mut self, date: NaiveDate, s: &SessionSummary) {
        self.whole
            .add(s.page_views.iter(), s.active_ms, &s.frustration);
        if let Some((_, day)) = self.days.iter_mut().find(|(d, _)| *d == date) {
            day.add(s.page_views.iter(), s.active_ms, &s.frustration);
        }
        let mut seen: Vec<&str> = Vec::new();
        for view in &s.page_views {
            if seen.contains(&view.key.as_str()) {
                continue;
            }
            seen.push(&view.key);
            let views = || s.page_views.iter().filter(|v| v.key == view.key);
            let mut frustration = Frustration::default();
            views().for_each(|v| frustration.add(&v.frustration));
            let active_ms = views().map(|v| v.active_ms).sum();
            let page = self
                .pages
                .entry(view.key.clone())
                .or_insert_with(|| PageTally {
                    url: view.url.clone(),
                    tally: Tally::default(),
                });
            page.tally.add(views(), active_ms, &frustration);
        }
    }

    /// Returns the dashboard, with the `top_pages` most viewed pages; `link` is the session
    /// list of the whole range with its device and segment.
    pub fn finish(mut self, link: &SessionsLink, top_pages: usize) -> Dashboard {
        let days = self
            .days
            .iter_mut()
            .map(|(date, tally)| DayFigures {
                date: date.to_string(),
                figures: tally.figures(),
                links: FigureLinks::of(&link.over(*date, *date)),
            })
            .collect();
        let mut pages: Vec<(String, PageTally)> = self.pages.into_iter().collect();
        pages.sort_by(|(_, a), (_, b)| {
            (b.tally.page_views)
                .cmp(&a.tally.page_views)
                .then_with(|| a.url.cmp(&b.url))
        });
        let pages = pages
            .into_iter()
            .take(top_pages)
            .map(|(key, mut page)| PageFigures {
                figures: page.tally.figures(),
                links: FigureLinks::of(&link.with("page", key.clone())),
                url: page.url,
                key,
            })
            .collect();
        Dashboard {
            figures: self.whole.figures(),
            links: FigureLinks::of(link),
            days,
            pages,
        }
    }
}

//! Links from a figure to the sessions behind it: `GET /api/sites/{site}/sessions` URLs with the
//! figure's range, device, segment, page, signal or funnel drop-off as filters.

use chrono::NaiveDate;
use heatpipe_core::event::DeviceClass;
use heatpipe_core::session::Frustration;
use serde::Serialize;

/// A session-list URL being built: the path and its query pairs, in order.
#[derive(Debug, Clone)]
pub struct SessionsLink {
    site: String,
    pairs: Vec<(&'static str, String)>,
}

impl SessionsLink {
    /// The sessions of `site` from `from` to `to` (inclusive), of `device` (None: every device)
    /// whose first page view carried every tag of `tags`.
    pub fn new(
        site: &str,
        (from, to): (NaiveDate, NaiveDate),
        device: Option<DeviceClass>,
        tags: &[(String, String)],
    ) -> Self {
        let mut pairs = vec![("from", from.to_string()), ("to", to.to_string())];
        if let Some(device) = device {
            pairs.push(("device", device.as_str().to_owned()));
        }
        if !tags.is_empty() {
            let joined: Vec<String> = tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            pairs.push(("tag", joined.join(",")));
        }
        SessionsLink {
            site: site.to_owned(),
            pairs,
        }
    }

    /// The same link with one more filter.
    pub fn with(&self, name: &'static str, value: impl Into<String>) -> Self {
        let mut link = self.clone();
        link.pairs.push((name, value.into()));
        link
    }

    /// The same link over another range.
    pub fn over(&self, from: NaiveDate, to: NaiveDate) -> Self {
        let mut link = self.clone();
        for (name, value) in &mut link.pairs {
            match *name {
                "from" => *value = from.to_string(),
                "to" => *value = to.to_string(),
                _ => {}
            }
        }
        link
    }

    /// The URL, its query encoded.
    pub fn url(&self) -> String {
        let query = serde_urlencoded::to_string(&self.pairs).unwrap_or_default();
        format!("/api/sites/{}/sessions?{query}", self.site)
    }
}

/// The session lists behind a row of dashboard figures, named as the figures are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureLinks {
    pub sessions: String,
    pub rage_click_share: String,
    pub dead_click_share: String,
    pub excessive_scroll_share: String,
    pub quick_back_share: String,
}

impl FigureLinks {
    /// The links of `base`: all its sessions, and those with each signal.
    pub fn of(base: &SessionsLink) -> Self {
        let [rage, dead, excessive, quick] =
            Frustration::KINDS.map(|kind| base.with("frustration", kind).url());
        FigureLinks {
            sessions: base.url(),
            rage_click_share: rage,
            dead_click_share: dead,
            excessive_scroll_share: excessive,
            quick_back_share: quick,
        }
    }
}

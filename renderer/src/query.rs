//! Query parameters shared by the read endpoints, and their validation.

use chrono::NaiveDate;
use heatpipe_core::event::DeviceClass;
use heatpipe_core::keys::parse_date;
use heatpipe_core::page::{is_page_key, normalize_url, page_key};
use serde::Deserialize;

use crate::error::{RenderError, RenderResult};

/// Longest date range one request may span.
pub const MAX_RANGE_DAYS: i64 = 366;
/// Days shown when a request names no range: the last week, today included.
pub const DEFAULT_RANGE_DAYS: i64 = 7;

/// `from` and `to` (inclusive), `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RangeQuery {
    /// Returns the days of the range, oldest first; defaults to the last week ending today (UTC).
    pub fn days(&self) -> RenderResult<Vec<NaiveDate>> {
        let parse = |value: &str, name: &str| {
            parse_date(value).map_err(|err| RenderError::BadRequest(format!("{name}: {err}")))
        };
        let to = match &self.to {
            Some(value) => parse(value, "to")?,
            None => chrono::Utc::now().date_naive(),
        };
        let from = match &self.from {
            Some(value) => parse(value, "from")?,
            None if self.to.is_some() => to,
            None => to - chrono::Days::new(DEFAULT_RANGE_DAYS as u64 - 1),
        };
        if from > to {
            return Err(RenderError::BadRequest(format!(
                "from ({from}) is after to ({to})"
            )));
        }
        let span = (to - from).num_days() + 1;
        if span > MAX_RANGE_DAYS {
            return Err(RenderError::BadRequest(format!(
                "the range spans {span} days; at most {MAX_RANGE_DAYS} are allowed"
            )));
        }
        Ok(from.iter_days().take(span as usize).collect())
    }
}

/// Resolves `page=` (a URL, URL-encoded, or a 16-hex page key) to a page key.
pub fn resolve_page(page: Option<&str>) -> RenderResult<String> {
    let page = page
        .filter(|p| !p.is_empty())
        .ok_or_else(|| RenderError::BadRequest("page is required: a page URL or its key".into()))?;
    if is_page_key(page) {
        return Ok(page.to_owned());
    }
    let url = normalize_url(page, false)
        .map_err(|err| RenderError::BadRequest(format!("page: {err}")))?;
    Ok(page_key(&url))
}

/// Parses `device=` (absent or `all`: every device).
pub fn parse_device(device: Option<&str>) -> RenderResult<Option<DeviceClass>> {
    match device {
        None | Some("" | "all") => Ok(None),
        Some(name) => DeviceClass::parse(name).map(Some).ok_or_else(|| {
            RenderError::BadRequest(format!(
                "device must be mobile, tablet, desktop or all, not {name:?}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let range = RangeQuery {
            from: Some("2026-11-20".into()),
            to: Some("2026-11-22".into()),
        };
        assert_eq!(range.days().expect("days").len(), 3);
        let single = RangeQuery {
            from: None,
            to: Some("2026-11-22".into()),
        };
        assert_eq!(single.days().expect("days").len(), 1);
        assert!(
            RangeQuery {
                from: Some("2026-11-23".into()),
                to: Some("2026-11-22".into())
            }
            .days()
            .is_err()
        );
        assert!(
            RangeQuery {
                from: Some("2020-01-01".into()),
                to: Some("2026-11-22".into())
            }
            .days()
            .is_err()
        );
        assert!(
            RangeQuery {
                from: Some("yesterday".into()),
                to: None
            }
            .days()
            .is_err()
        );
        assert_eq!(RangeQuery::default().days().expect("days").len(), 7);
    }

    #[test]
    fn pages_resolve_from_urls_or_keys() {
        let key = page_key("https://a.example/x");
        assert_eq!(
            resolve_page(Some("https://A.example/x#frag")).expect("url"),
            key
        );
        assert_eq!(resolve_page(Some(&key)).expect("key"), key);
        assert!(resolve_page(None).is_err());
        assert!(resolve_page(Some("not a url")).is_err());
    }
}

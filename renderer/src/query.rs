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

/// Parses `segment=variant:B,visitor:returning,width:1280` (dimension:value pairs; absent or
/// empty: every segment). `device` has a parameter of its own.
pub fn parse_segment(segment: Option<&str>) -> RenderResult<Vec<(String, String)>> {
    let Some(text) = segment.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|part| match part.split_once(':') {
            Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                Ok((name.to_owned(), value.to_owned()))
            }
            _ => Err(RenderError::BadRequest(format!(
                "segment must be dimension:value pairs separated by commas \
                 (variant:B,visitor:returning), not {part:?}"
            ))),
        })
        .collect()
}

/// Parses `frustration=` (absent: any session): one of the signal names, or `any`.
pub fn parse_frustration(kind: Option<&str>) -> RenderResult<Option<String>> {
    match kind.filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(kind)
            if kind == "any" || heatpipe_core::session::Frustration::KINDS.contains(&kind) =>
        {
            Ok(Some(kind.to_owned()))
        }
        Some(kind) => Err(RenderError::BadRequest(format!(
            "frustration must be any, {}, not {kind:?}",
            heatpipe_core::session::Frustration::KINDS.join(", ")
        ))),
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
    fn segments_and_frustration_kinds_parse_or_say_why_not() {
        assert_eq!(
            parse_segment(Some("variant:B,visitor:new")).expect("pairs"),
            [
                ("variant".to_owned(), "B".to_owned()),
                ("visitor".to_owned(), "new".to_owned())
            ]
        );
        assert!(parse_segment(None).expect("none").is_empty());
        assert!(parse_segment(Some("variant")).is_err());
        assert!(parse_segment(Some("variant:B,:x")).is_err());
        assert_eq!(
            parse_frustration(Some("rage")).expect("rage"),
            Some("rage".to_owned())
        );
        assert_eq!(parse_frustration(None).expect("none"), None);
        assert!(parse_frustration(Some("angry")).is_err());
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

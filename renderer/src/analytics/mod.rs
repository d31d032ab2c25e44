//! Figures over a range of days' session indexes: the dashboard, funnels and page paths. Each is
//! a pure fold over the sessions a [`SessionFilter`] keeps, day by day, so that tests compute
//! them on hand-built sessions and the routes run them off the async runtime.
//!
//! # Layout
//! - [`stats`] — medians and ratios, the shared arithmetic.
//! - [`dashboard`] — sessions, page views, active time, scroll depth and frustration shares,
//!   for the range, per day and per page.
//! - [`funnel`] — funnel steps (URLs, page keys or prefixes), how far a session got, conversion.
//! - [`paths`] — the most common page sequences after or before a page.
//! - [`links`] — session-list URLs behind each figure.

pub mod dashboard;
pub mod funnel;
pub mod links;
pub mod paths;
pub mod stats;

use std::ops::ControlFlow;

use chrono::NaiveDate;
use heatpipe_core::session::SessionSummary;

use crate::data::DaySessions;
use crate::sessions::SessionFilter;

/// Calls `visit` with each session of `days` that `filter` keeps, with its day, in day order. A
/// day whose index turns out damaged part way is logged and counted up to the damage.
pub fn for_each_session(
    days: &[(NaiveDate, DaySessions)],
    filter: &SessionFilter,
    mut visit: impl FnMut(NaiveDate, &SessionSummary),
) {
    for (date, sessions) in days {
        let scanned = sessions.scan(|_, session| {
            if filter.matches(&session) {
                visit(*date, &session);
            }
            ControlFlow::Continue(())
        });
        if let Err(err) = scanned {
            tracing::warn!(%date, error = %err, "session index damaged part way; counted up to the damage");
        }
    }
}

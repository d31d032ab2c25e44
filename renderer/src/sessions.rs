//! Finding sessions in a range of days' session indexes: the filtered, newest-first list of the
//! `sessions` endpoint, and one session's summary and blocks for its timeline. Both read each
//! day's sessions in order and keep only what they answer with, so a day whose index is read one
//! session at a time (see [`DaySessions`]) is listed in memory bounded by the list's length.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::{ControlFlow, RangeInclusive};
use std::sync::Arc;

use chrono::NaiveDate;
use heatpipe_core::event::DeviceClass;
use heatpipe_core::session::{BlockRef, Frustration, SessionSummary};
use serde::Serialize;

use crate::analytics::funnel::Funnel;
use crate::data::DaySessions;

/// One row of `GET /api/sites/{site}/sessions`.
#[derive(Debug, Serialize)]
pub struct SessionRow {
    pub id: String,
    pub date: String,
    pub started_at: i64,
    pub duration_ms: u64,
    pub device: &'static str,
    pub clicks: u64,
    pub moves: u64,
    pub scrolls: u64,
    pub pages: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub frustration: Frustration,
}

impl SessionRow {
    fn of(date: NaiveDate, s: &SessionSummary) -> Self {
        SessionRow {
            id: s.id.clone(),
            date: date.to_string(),
            started_at: s.started_at_ms,
            duration_ms: s.duration_ms,
            device: s.device.as_str(),
            clicks: s.num_clicks,
            moves: s.num_moves,
            scrolls: s.num_scrolls,
            pages: s.page_views.iter().map(|v| v.url.clone()).collect(),
            tags: s.tags.clone(),
            frustration: s.frustration,
        }
    }
}

/// Which sessions a list shows.
#[derive(Debug, Clone)]
pub struct SessionFilter {
    /// Sessions that viewed this page (by page key).
    pub page_key: Option<String>,
    pub device: Option<DeviceClass>,
    /// A signal's name (see [`Frustration::count`]), or `any`.
    pub frustration: Option<String>,
    /// Tags the session's first page view carried, all of them.
    pub tags: Vec<(String, String)>,
    pub duration_ms: RangeInclusive<u64>,
    /// Sessions that reached exactly this many steps of this funnel: those that dropped off
    /// after that step (or, for the last step, converted).
    pub funnel: Option<(Arc<Funnel>, usize)>,
}

impl SessionFilter {
    /// Every session of every device and segment.
    pub fn everything() -> Self {
        SessionFilter {
            page_key: None,
            device: None,
            frustration: None,
            tags: Vec::new(),
            duration_ms: 0..=u64::MAX,
            funnel: None,
        }
    }

    /// Whether the filter keeps `s`. With both a page and a signal, the signal must have been
    /// seen on that page: the sessions behind a page's figure on the dashboard.
    pub fn matches(&self, s: &SessionSummary) -> bool {
        let signal = |f: &Frustration, kind: &str| match kind {
            "any" => f.any(),
            kind => f.count(kind).unwrap_or(0) > 0,
        };
        let on_page = |key: &String| {
            s.page_views.iter().any(|v| {
                &v.key == key
                    && self
                        .frustration
                        .as_deref()
                        .is_none_or(|kind| signal(&v.frustration, kind))
            })
        };
        self.duration_ms.contains(&s.duration_ms)
            && self.device.is_none_or(|device| s.device == device)
            && self
                .frustration
                .as_deref()
                .is_none_or(|kind| signal(&s.frustration, kind))
            && self.tags.iter().all(|tag| s.tags.contains(tag))
            && self.page_key.as_ref().is_none_or(on_page)
            && self
                .funnel
                .as_ref()
                .is_none_or(|(funnel, reached)| funnel.reached(s) == *reached)
    }
}

/// A session that may be listed, with its day. Ordered by rank in the list: newest first, then
/// by id, then by day.
struct Candidate {
    date: NaiveDate,
    session: SessionSummary,
}

/// Where a session of day `date` ranks in the list: newest first, then by id, then by day.
fn rank(date: NaiveDate, session: &SessionSummary) -> (Reverse<i64>, &str, NaiveDate) {
    (Reverse(session.started_at_ms), session.id.as_str(), date)
}

impl Candidate {
    fn rank(&self) -> (Reverse<i64>, &str, NaiveDate) {
        rank(self.date, &self.session)
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// The best `limit` candidates offered so far; the one ranking last on top, to be replaced by
/// any better one.
struct Kept {
    heap: BinaryHeap<Candidate>,
    limit: usize,
}

impl Kept {
    /// Keeps `session` if it ranks among the best `limit` so far.
    fn offer(&mut self, date: NaiveDate, session: Cow<'_, SessionSummary>) {
        if self.heap.len() == self.limit {
            let Some(last) = self.heap.peek() else {
                return;
            };
            if rank(date, &session) >= last.rank() {
                return;
            }
            self.heap.pop();
        }
        self.heap.push(Candidate {
            date,
            session: session.into_owned(),
        });
    }
}

/// Returns the `limit` newest sessions of `days` that `filter` keeps, newest first (ties by id,
/// then day). A day whose index turns out damaged part way is logged and listed up to the damage.
pub fn newest_sessions(
    days: &[(NaiveDate, DaySessions)],
    filter: &SessionFilter,
    limit: usize,
) -> Vec<SessionRow> {
    if limit == 0 {
        return Vec::new();
    }
    let mut kept = Kept {
        heap: BinaryHeap::with_capacity(limit.min(4096) + 1),
        limit,
    };
    for (date, sessions) in days {
        match sessions {
            // An index lists its sessions oldest first: from the end, the newest come first, and
            // the first session older than every kept one ends the day.
            DaySessions::Decoded(index) => {
                for session in index.sessions.iter().rev().filter(|s| filter.matches(s)) {
                    let older = kept.heap.len() == limit
                        && kept
                            .heap
                            .peek()
                            .is_some_and(|last| session.started_at_ms < last.session.started_at_ms);
                    if older {
                        break;
                    }
                    kept.offer(*date, Cow::Borrowed(session));
                }
            }
            DaySessions::Streamed(_) => {
                let scanned = sessions.scan(|_, session| {
                    if filter.matches(&session) {
                        kept.offer(*date, session);
                    }
                    ControlFlow::Continue(())
                });
                if let Err(err) = scanned {
                    tracing::warn!(%date, error = %err, "session index damaged part way; listed up to the damage");
                }
            }
        }
    }
    kept.heap
        .into_sorted_vec()
        .into_iter()
        .map(|candidate| SessionRow::of(candidate.date, &candidate.session))
        .collect()
}

/// A session found for its timeline: its day, summary, and where its blocks lie.
pub type FoundSession = (NaiveDate, SessionSummary, Vec<(String, BlockRef)>);

/// Returns session `id` from the latest of `days` that lists it.
pub fn find_session(days: &[(NaiveDate, DaySessions)], id: &str) -> Option<FoundSession> {
    days.iter().rev().find_map(|(date, sessions)| {
        let mut found = None;
        let scanned = sessions.scan(|chunks, s| {
            if s.id != id {
                return ControlFlow::Continue(());
            }
            let blocks = s.blocks_in(chunks);
            found = Some((*date, s.into_owned(), blocks));
            ControlFlow::Break(())
        });
        if let Err(err) = scanned {
            tracing::warn!(%date, error = %err, "session index damaged part way");
        }
        found
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::session::SessionIndex;

    fn summary(id: &str, started_at_ms: i64) -> SessionSummary {
        SessionSummary {
            id: id.into(),
            started_at_ms,
            duration_ms: 1_000,
            active_ms: 800,
            device: DeviceClass::Desktop,
            num_clicks: 0,
            num_moves: 0,
            num_scrolls: 0,
            tags: Vec::new(),
            visitor_key: None,
            frustration: Frustration::default(),
            page_views: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// A day's index (sorted as the processor writes it), decoded and as bytes to stream.
    fn day(sessions: &[(&str, i64)]) -> (DaySessions, DaySessions) {
        let mut sessions: Vec<SessionSummary> =
            sessions.iter().map(|(id, t)| summary(id, *t)).collect();
        sessions.sort_by(|a, b| (a.started_at_ms, &a.id).cmp(&(b.started_at_ms, &b.id)));
        let index = SessionIndex {
            chunks: Vec::new(),
            sessions,
        };
        let bytes = index.encode().expect("encode");
        (
            DaySessions::Decoded(Arc::new(index)),
            DaySessions::Streamed(bytes.into()),
        )
    }

    fn every_session() -> SessionFilter {
        SessionFilter::everything()
    }

    #[test]
    fn newest_first_then_by_id_then_day_whichever_way_a_day_is_read() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
        let second = NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        let (a_decoded, a_streamed) = day(&[("b", 50), ("a", 50), ("z", 10), ("c", 70)]);
        let (b_decoded, b_streamed) = day(&[("a", 50), ("y", 90), ("x", 5)]);
        let expected = [
            ("y", second),
            ("c", first),
            ("a", first),
            ("a", second),
            ("b", first),
            ("z", first),
            ("x", second),
        ];
        for limit in 0..=expected.len() + 1 {
            let want: Vec<(String, String)> = expected
                .iter()
                .take(limit)
                .map(|(id, date)| ((*id).to_owned(), date.to_string()))
                .collect();
            for (a, b) in [
                (&a_decoded, &b_decoded),
                (&a_streamed, &b_streamed),
                (&a_decoded, &b_streamed),
            ] {
                let days = [(first, a.clone()), (second, b.clone())];
                let rows: Vec<(String, String)> = newest_sessions(&days, &every_session(), limit)
                    .into_iter()
                    .map(|row| (row.id, row.date))
                    .collect();
                assert_eq!(rows, want, "limit {limit}");
            }
        }
        let days = [(first, a_streamed), (second, b_decoded)];
        let (date, found, _) = find_session(&days, "a").expect("found");
        assert_eq!(
            (date, found.started_at_ms),
            (second, 50),
            "the latest day's"
        );
        assert!(find_session(&days, "nobody").is_none());
    }
}

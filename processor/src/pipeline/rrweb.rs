//! The day's rrweb sessions, converted before the day's chunks are read: collectors store rrweb
//! batches as recorded, in viewport terms (`.hpr` objects, see [`heatpipe_core::rrweb`]), so
//! that any batch may reach any collector; here every batch of each session is read together,
//! converted to page-coordinate streams in time order, and written as one ordinary chunk
//! (`raw/{site}/{date}/rrweb.hpc`) that the rest of the run reads like any other. The chunk is
//! the same bytes for the same batches, so reruns, shards and `serve`'s repeated passes all
//! agree; it is rewritten whole each time, and removed when the day has no rrweb session left.
//!
//! A page view belongs to the day it started on. Batches of the first hour of the next day
//! (filed under the date of their first event) are read too, for the page views they continue;
//! the next day's run leaves out events that came before the session's first Meta event of its
//! own day, so no event is counted on two days.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, encode_chunk};
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{converted_rrweb_key, date_hour_of_ms, raw_day_prefix, raw_hour_prefix};
use heatpipe_core::rrweb::{RrwebBatch, convert_session, decode_lane};
use heatpipe_core::wire::WireLimits;
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;

use crate::error::ProcessError;
use crate::pipeline::objects::fetch_whole;
use crate::pipeline::report::ProcessSummary;

/// What converting a day's rrweb batches did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RrwebDay {
    /// Sessions converted (with at least one page view started on the day).
    pub sessions: u64,
    /// Streams written to the converted chunk.
    pub streams: u64,
    /// Batches seen twice (a retried upload) and converted once.
    pub repeated_batches: u64,
}

/// Converts the rrweb sessions of `site` on `date` and writes (or removes) the day's converted
/// chunk, before the day's chunks are listed. Unreadable `.hpr` objects are reported in
/// `summary` and left out; a store error fails the run.
pub async fn convert_rrweb_day(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    fetch_concurrency: usize,
    summary: &mut ProcessSummary,
) -> Result<RrwebDay, ProcessError> {
    let day_keys = lane_keys(store, &raw_day_prefix(site, date)).await?;
    let next_day = date
        .checked_add_days(Days::new(1))
        .map(|next| raw_hour_prefix(site, next, 0));
    let continuation_keys = match &next_day {
        Some(prefix) => lane_keys(store, prefix).await?,
        None => Vec::new(),
    };
    let converted_key = converted_rrweb_key(site, date);
    if day_keys.is_empty() {
        store.delete(&converted_key).await?;
        return Ok(RrwebDay::default());
    }
    let day = fetch_batches(store, &day_keys, fetch_concurrency, summary).await?;
    let continuation = fetch_batches(store, &continuation_keys, fetch_concurrency, summary).await?;
    let (streams, report) = on_blocking(move || convert_day(date, day, continuation)).await?;
    if streams.is_empty() {
        store.delete(&converted_key).await?;
        return Ok(report);
    }
    let bytes = on_blocking(move || encode_chunk(&streams, DEFAULT_ZSTD_LEVEL)).await??;
    store.put(&converted_key, bytes.into()).await?;
    Ok(report)
}

/// Returns the keys of the `.hpr` objects under `prefix`, sorted.
async fn lane_keys(store: &dyn ObjectStore, prefix: &str) -> Result<Vec<String>, ProcessError> {
    let mut keys: Vec<String> = store
        .list(prefix)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .filter(|key| key.ends_with(".hpr"))
        .collect();
    keys.sort();
    Ok(keys)
}

/// Fetches and decodes the batches of every object in `keys`; a damaged object is reported
/// and left out.
async fn fetch_batches(
    store: &dyn ObjectStore,
    keys: &[String],
    fetch_concurrency: usize,
    summary: &mut ProcessSummary,
) -> Result<Vec<RrwebBatch>, ProcessError> {
    let fetched = fetch_whole(store, keys.iter().cloned(), fetch_concurrency).await?;
    let decoded = on_blocking(move || {
        fetched
            .into_iter()
            .map(|(key, bytes)| (key, decode_lane(&bytes)))
            .collect::<Vec<_>>()
    })
    .await?;
    let mut batches = Vec::new();
    for (key, result) in decoded {
        match result {
            Ok(found) => batches.extend(found),
            Err(err) => summary.note_skipped(true, key, err.to_string()),
        }
    }
    Ok(batches)
}

/// Converts each session of `day` (with its batches of `continuation`, the next day's first
/// hour) and keeps the streams of page views started on `date`.
fn convert_day(
    date: NaiveDate,
    day: Vec<RrwebBatch>,
    continuation: Vec<RrwebBatch>,
) -> (Vec<Stream>, RrwebDay) {
    let mut sessions: BTreeMap<String, Vec<RrwebBatch>> = BTreeMap::new();
    for batch in day {
        sessions
            .entry(batch.session_id.clone())
            .or_default()
            .push(batch);
    }
    for batch in continuation {
        if let Some(batches) = sessions.get_mut(&batch.session_id) {
            batches.push(batch);
        }
    }
    let max_t_ms = WireLimits::default().max_t_ms;
    let mut streams = Vec::new();
    let mut report = RrwebDay::default();
    for (id, batches) in &sessions {
        let converted = convert_session(id, batches, max_t_ms);
        report.repeated_batches += converted.repeated_batches;
        let before = streams.len();
        streams.extend(
            converted
                .streams
                .into_iter()
                .filter(|stream| date_hour_of_ms(stream.page.started_at_ms).0 == date),
        );
        report.sessions += u64::from(streams.len() > before);
    }
    report.streams = streams.len() as u64;
    (streams, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::keys::{date_start_ms, parse_date};
    use heatpipe_core::rrweb::PointerEvent;

    fn meta(at_ms: i64) -> PointerEvent {
        PointerEvent::Meta {
            at_ms,
            url: "https://a.example/".into(),
            width_px: 1280,
            height_px: 800,
        }
    }

    fn click(at_ms: i64) -> PointerEvent {
        PointerEvent::Click {
            at_ms,
            x: 10,
            y: 20,
            node: 4,
        }
    }

    fn batch(session: &str, events: Vec<PointerEvent>) -> RrwebBatch {
        RrwebBatch {
            session_id: session.into(),
            events,
        }
    }

    #[test]
    fn a_page_view_that_crosses_midnight_counts_on_the_day_it_started() {
        let date = parse_date("2026-11-21").expect("date");
        let midnight = date_start_ms(date) + 86_400_000;
        let day = vec![
            batch(
                "late",
                vec![meta(midnight - 60_000), click(midnight - 30_000)],
            ),
            batch(
                "early",
                vec![meta(midnight - 80_000_000), click(midnight - 79_000_000)],
            ),
        ];
        let continuation = vec![
            // The late session's view goes on after midnight…
            batch("late", vec![click(midnight + 5_000)]),
            // …then starts a page view of the next day, which is not this day's.
            batch(
                "late",
                vec![meta(midnight + 9_000), click(midnight + 9_500)],
            ),
            // A session that only exists the next day is not read here.
            batch(
                "next-day",
                vec![meta(midnight + 1_000), click(midnight + 2_000)],
            ),
        ];
        let (streams, report) = convert_day(date, day, continuation);
        let late: Vec<(u32, usize)> = streams
            .iter()
            .filter(|s| s.session_id == "late")
            .map(|s| (s.page_view_index, s.clicks.len()))
            .collect();
        assert_eq!(late, [(0, 1), (0, 1)]);
        assert!(streams.iter().all(|s| s.session_id != "next-day"));
        assert_eq!((report.sessions, report.streams), (2, 3));
    }
}

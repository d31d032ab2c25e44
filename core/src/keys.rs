//! Storage keys, exactly as the design lays them out, and the validation of site names and dates.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

/// Why a site name or date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("site must match [a-z0-9][a-z0-9-]{{0,62}}, got {0:?}")]
    Site(String),
    #[error("date must be YYYY-MM-DD, got {0:?}")]
    Date(String),
}

/// Checks that `site` matches `[a-z0-9][a-z0-9-]{0,62}`.
pub fn validate_site(site: &str) -> Result<(), KeyError> {
    let bytes = site.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        Err(KeyError::Site(site.to_owned()))
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(value: &str) -> Result<NaiveDate, KeyError> {
    if value.len() != 10 {
        return Err(KeyError::Date(value.to_owned()));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| KeyError::Date(value.to_owned()))
}

/// Returns the UTC date and hour of a Unix millisecond time (clamped to chrono's range).
pub fn date_hour_of_ms(unix_ms: i64) -> (NaiveDate, u32) {
    let time = DateTime::<Utc>::from_timestamp_millis(unix_ms).unwrap_or_default();
    (time.date_naive(), time.hour())
}

/// Returns the Unix millisecond time at which `date` starts (UTC).
pub fn date_start_ms(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |time| time.and_utc().timestamp_millis())
}

/// `raw/{site}/{date}/{HH}/{collector_id}-{segment:016}.hpc`
pub fn chunk_key(
    site: &str,
    date: NaiveDate,
    hour: u32,
    collector_id: &str,
    segment: u64,
) -> String {
    format!("raw/{site}/{date}/{hour:02}/{collector_id}-{segment:016}.hpc")
}

/// `raw/{site}/{date}/{HH}/{collector_id}-{segment:016}.hpr`: the rrweb batches a log segment
/// held for that hour (see [`crate::rrweb::lane`]).
pub fn rrweb_lane_key(
    site: &str,
    date: NaiveDate,
    hour: u32,
    collector_id: &str,
    segment: u64,
) -> String {
    format!("raw/{site}/{date}/{hour:02}/{collector_id}-{segment:016}.hpr")
}

/// `raw/{site}/{date}/rrweb.hpc`: the day's rrweb sessions converted to page coordinates, which
/// the processor writes from the day's `.hpr` objects before it reads the day's chunks.
pub fn converted_rrweb_key(site: &str, date: NaiveDate) -> String {
    format!("raw/{site}/{date}/rrweb.hpc")
}

/// `replay/{site}/{date}/`: the day's replay lane (see [`crate::replay`]).
pub fn replay_day_prefix(site: &str, date: NaiveDate) -> String {
    format!("replay/{site}/{date}/")
}

/// `replay/{site}/{date}/{collector_id}-{segment:016}.hpd`: the recording batches a log segment
/// held for that day.
pub fn replay_segment_key(site: &str, date: NaiveDate, collector_id: &str, segment: u64) -> String {
    format!("replay/{site}/{date}/{collector_id}-{segment:016}.hpd")
}

/// `replay/{site}/{date}/day-{tag}.hpd`: a day's recordings compacted into one object, `tag`
/// naming the set of objects it replaced.
pub fn replay_compacted_key(site: &str, date: NaiveDate, tag: &str) -> String {
    format!("replay/{site}/{date}/day-{tag}.hpd")
}

/// `replay/{site}/{date}/index.hpi`: which blocks hold each session's recording.
pub fn replay_index_key(site: &str, date: NaiveDate) -> String {
    format!("replay/{site}/{date}/index.hpi")
}

/// `audit/{site}/erased/`: one empty object per erased subject, named
/// `{kind}-{keyed hash}` (see [`erasure_tombstone_key`]).
pub fn erasure_tombstone_prefix(site: &str) -> String {
    format!("audit/{site}/erased/")
}

/// `audit/{site}/erased/{kind}-{subject_hmac}`: says that the session or visitor whose keyed hash
/// (HMAC-SHA256 under `auth/audit-key`, in hex) is `subject_hmac` was erased, so that what a
/// collector's log still holds of it is left out when it is uploaded. `kind` is `session` or
/// `visitor`.
pub fn erasure_tombstone_key(site: &str, kind: &str, subject_hmac: &str) -> String {
    format!("{}{kind}-{subject_hmac}", erasure_tombstone_prefix(site))
}

/// `raw/{site}/{date}/{HH}/`: the chunks and rrweb batches of one hour.
pub fn raw_hour_prefix(site: &str, date: NaiveDate, hour: u32) -> String {
    format!("raw/{site}/{date}/{hour:02}/")
}

/// `raw/{site}/{date}/`: every chunk of a day.
pub fn raw_day_prefix(site: &str, date: NaiveDate) -> String {
    format!("raw/{site}/{date}/")
}

/// `agg/{site}/{date}/pages.hpa`
pub fn pages_key(site: &str, date: NaiveDate) -> String {
    format!("agg/{site}/{date}/pages.hpa")
}

/// `agg/{site}/{date}/page/{page_key}.hpa`
pub fn page_agg_key(site: &str, date: NaiveDate, page_key: &str) -> String {
    format!("agg/{site}/{date}/page/{page_key}.hpa")
}

/// `partial/{site}/{date}/shard-{index}-of-{count}.hpp`: one shard's partial day, for `merge`.
pub fn shard_partial_key(site: &str, date: NaiveDate, index: u32, count: u32) -> String {
    format!(
        "{}shard-{index:04}-of-{count:04}.hpp",
        partial_day_prefix(site, date)
    )
}

/// `partial/{site}/{date}/`: where a day's shard partials lie.
pub fn partial_day_prefix(site: &str, date: NaiveDate) -> String {
    format!("partial/{site}/{date}/")
}

/// `sessions/{site}/{date}/index.hps`
pub fn session_index_key(site: &str, date: NaiveDate) -> String {
    format!("sessions/{site}/{date}/index.hps")
}

/// `snapshots/{site}/{page_key}/`: every stored screenshot of a page.
pub fn snapshot_prefix(site: &str, page_key: &str) -> String {
    format!("snapshots/{site}/{page_key}/")
}

/// `snapshots/{site}/{page_key}/w{width:05}.png`: the page's screenshot at a layout width.
pub fn snapshot_key(site: &str, page_key: &str, width_px: u32) -> String {
    format!("snapshots/{site}/{page_key}/w{width_px:05}.png")
}

/// The layout width of a snapshot key made by [`snapshot_key`].
pub fn snapshot_width(key: &str) -> Option<u32> {
    key.rsplit('/')
        .next()?
        .strip_prefix('w')?
        .strip_suffix(".png")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_design() {
        let date = parse_date("2026-11-21").expect("date");
        let snapshot = snapshot_key("shop", "00ff00ff00ff00ff", 1280);
        assert_eq!(snapshot, "snapshots/shop/00ff00ff00ff00ff/w01280.png");
        assert!(snapshot.starts_with(&snapshot_prefix("shop", "00ff00ff00ff00ff")));
        assert_eq!(snapshot_width(&snapshot), Some(1280));
        assert_eq!(snapshot_width("snapshots/shop/x/notes.txt"), None);
        assert_eq!(
            chunk_key("shop", date, 7, "c1", 42),
            "raw/shop/2026-11-21/07/c1-0000000000000042.hpc"
        );
        assert_eq!(pages_key("shop", date), "agg/shop/2026-11-21/pages.hpa");
        assert_eq!(
            page_agg_key("shop", date, "00ff"),
            "agg/shop/2026-11-21/page/00ff.hpa"
        );
        assert_eq!(
            session_index_key("shop", date),
            "sessions/shop/2026-11-21/index.hps"
        );
    }

    #[test]
    fn site_names_are_validated() {
        for good in ["a", "shop-1", "0abc", &"a".repeat(63)] {
            assert!(validate_site(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "Shop", "a_b", "a/b", "..", &"a".repeat(64)] {
            assert!(validate_site(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-11-21").is_ok());
        for bad in ["2026-11-31", "2026-1-2", "yesterday", "2026-11-21T00"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        let date = parse_date("2026-11-21").expect("date");
        assert_eq!(
            date_hour_of_ms(date_start_ms(date) + 3_600_000 * 5 + 1),
            (date, 5)
        );
    }
}

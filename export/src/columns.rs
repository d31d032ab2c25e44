//! The session index as Parquet columns, leaf by leaf in schema order, each with the
//! definition and repetition levels Parquet needs for its optional and repeated fields.

use chrono::NaiveDate;
use heatpipe_core::session::{Frustration, SessionIndex, SessionSummary};
use parquet::data_type::ByteArray;

/// One leaf column's values and levels.
pub(crate) struct Column {
    pub values: Values,
    pub def_levels: Option<Vec<i16>>,
    pub rep_levels: Option<Vec<i16>>,
}

pub(crate) enum Values {
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Double(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

impl Column {
    fn required(values: Values) -> Self {
        Column {
            values,
            def_levels: None,
            rep_levels: None,
        }
    }

    fn int32(values: impl Iterator<Item = i32>) -> Self {
        Column::required(Values::Int32(values.collect()))
    }

    fn int64(values: impl Iterator<Item = u64>) -> Self {
        Column::required(Values::Int64(values.map(saturating_i64).collect()))
    }

    fn string<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        Column::required(Values::Bytes(values.map(ByteArray::from).collect()))
    }

    /// An optional string: absent values have definition level 0 and no value.
    fn optional_string<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Self {
        let (mut present, mut def_levels) = (Vec::new(), Vec::new());
        for value in values {
            def_levels.push(i16::from(value.is_some()));
            present.extend(value.map(ByteArray::from));
        }
        Column {
            values: Values::Bytes(present),
            def_levels: Some(def_levels),
            rep_levels: None,
        }
    }

    fn optional_double(values: impl Iterator<Item = Option<f64>>) -> Self {
        let (mut present, mut def_levels) = (Vec::new(), Vec::new());
        for value in values {
            def_levels.push(i16::from(value.is_some()));
            present.extend(value);
        }
        Column {
            values: Values::Double(present),
            def_levels: Some(def_levels),
            rep_levels: None,
        }
    }

    /// A required list (or map) of strings, one list per row: an empty list is one entry at
    /// definition level 0; the first element of a row has repetition level 0, the rest 1.
    fn repeated_string<'a, R>(rows: impl Iterator<Item = R>) -> Self
    where
        R: Iterator<Item = &'a str>,
    {
        let (mut values, mut def_levels, mut rep_levels) = (Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            let before = values.len();
            for value in row {
                rep_levels.push(i16::from(values.len() > before));
                def_levels.push(1);
                values.push(ByteArray::from(value));
            }
            if values.len() == before {
                rep_levels.push(0);
                def_levels.push(0);
            }
        }
        Column {
            values: Values::Bytes(values),
            def_levels: Some(def_levels),
            rep_levels: Some(rep_levels),
        }
    }
}

/// Parquet's INT64 is signed; counts and durations past `i64::MAX` cannot occur in a day.
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn saturating_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Days since 1970-01-01, Parquet's DATE.
fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((date - epoch).num_days()).unwrap_or(i32::MAX)
}

fn frustration_columns<'a>(rows: impl Iterator<Item = &'a Frustration> + Clone) -> [Column; 4] {
    [
        Column::int64(rows.clone().map(|f| f.rage_clicks)),
        Column::int64(rows.clone().map(|f| f.dead_clicks)),
        Column::int64(rows.clone().map(|f| f.excessive_scrolls)),
        Column::int64(rows.map(|f| f.quick_backs)),
    ]
}

/// The columns of `sessions.parquet` (see [`crate::schema::SESSIONS`]).
pub(crate) fn sessions(site: &str, date: NaiveDate, index: &SessionIndex) -> Vec<Column> {
    let rows = &index.sessions;
    let day = days_since_epoch(date);
    let mut columns = vec![
        Column::string(rows.iter().map(|_| site)),
        Column::int32(rows.iter().map(|_| day)),
        Column::string(rows.iter().map(|s| s.id.as_str())),
        Column::optional_string(rows.iter().map(|s| s.visitor_key.as_deref())),
        Column::required(Values::Int64(
            rows.iter().map(|s| s.started_at_ms).collect(),
        )),
        Column::int64(rows.iter().map(|s| s.duration_ms)),
        Column::int64(rows.iter().map(|s| s.active_ms)),
        Column::string(rows.iter().map(|s| s.device.as_str())),
        Column::int32(
            rows.iter()
                .map(|s| i32::try_from(s.page_views.len()).unwrap_or(i32::MAX)),
        ),
        Column::repeated_string(
            rows.iter()
                .map(|s| s.page_views.iter().map(|view| view.url.as_str())),
        ),
        Column::int64(rows.iter().map(|s| s.num_clicks)),
        Column::int64(rows.iter().map(|s| s.num_moves)),
        Column::int64(rows.iter().map(|s| s.num_scrolls)),
    ];
    columns.extend(frustration_columns(rows.iter().map(|s| &s.frustration)));
    columns.push(Column::repeated_string(rows.iter().map(tag_keys)));
    columns.push(Column::repeated_string(rows.iter().map(tag_values)));
    columns
}

fn tag_keys(session: &SessionSummary) -> impl Iterator<Item = &str> {
    session.tags.iter().map(|(key, _)| key.as_str())
}

fn tag_values(session: &SessionSummary) -> impl Iterator<Item = &str> {
    session.tags.iter().map(|(_, value)| value.as_str())
}

/// The columns of `page_views.parquet` (see [`crate::schema::PAGE_VIEWS`]).
pub(crate) fn page_views(site: &str, date: NaiveDate, index: &SessionIndex) -> Vec<Column> {
    let rows: Vec<_> = index
        .sessions
        .iter()
        .flat_map(|session| session.page_views.iter().map(move |view| (session, view)))
        .collect();
    let day = days_since_epoch(date);
    let mut columns = vec![
        Column::string(rows.iter().map(|_| site)),
        Column::int32(rows.iter().map(|_| day)),
        Column::string(rows.iter().map(|(s, _)| s.id.as_str())),
        Column::optional_string(rows.iter().map(|(s, _)| s.visitor_key.as_deref())),
        Column::int32(rows.iter().map(|(_, v)| saturating_i32(v.index))),
        Column::string(rows.iter().map(|(_, v)| v.url.as_str())),
        Column::string(rows.iter().map(|(_, v)| v.key.as_str())),
        Column::required(Values::Int64(
            rows.iter().map(|(_, v)| v.started_at_ms).collect(),
        )),
        Column::int64(rows.iter().map(|(_, v)| v.duration_ms)),
        Column::int64(rows.iter().map(|(_, v)| v.active_ms)),
        Column::int32(rows.iter().map(|(_, v)| saturating_i32(v.max_depth_px))),
        Column::int32(
            rows.iter()
                .map(|(_, v)| saturating_i32(v.document_height_px)),
        ),
        Column::optional_double(rows.iter().map(|(_, v)| v.scroll_depth_percent())),
    ];
    columns.extend(frustration_columns(
        rows.iter().map(|(_, v)| &v.frustration),
    ));
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_is_one_entry_at_level_zero_and_elements_repeat_at_level_one() {
        let rows: Vec<Vec<&str>> = vec![vec!["a", "b"], vec![], vec!["c"]];
        let column = Column::repeated_string(rows.iter().map(|row| row.iter().copied()));
        assert_eq!(column.def_levels, Some(vec![1, 1, 0, 1]));
        assert_eq!(column.rep_levels, Some(vec![0, 1, 0, 0]));
        let Values::Bytes(values) = column.values else {
            panic!("a string column holds bytes");
        };
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 3).expect("date");
        assert_eq!(days_since_epoch(date), 20_790);
    }
}

//! A processed day's sessions and page views as Parquet files, for a customer data platform, a
//! CRM or a warehouse (BigQuery, Snowflake, DuckDB) to join with its customer records. The
//! export reads the day's session index — what `heatpipe process` wrote — and nothing else, so
//! it is as fast as reading one object and it exports exactly what the viewer shows.
//!
//! ```text
//! {out}/{site}/{date}/sessions.parquet     one row per session
//! {out}/{site}/{date}/page_views.parquet   one row per page view, in session order
//! ```
//! The schemas are in [`schema`] and documented in `docs/formats.md`. The only identifier in
//! the files is the session id and, where the site called `identify`, the visitor key: a keyed
//! hash, never the site's own id.
//!
//! # Layout
//! - `lib.rs` (here) — [`export_day`], [`ExportError`], [`ExportedDay`].
//! - `schema` — the two Parquet schemas.
//! - `columns` — the session index turned into columns with their Parquet levels.
//! - `write` — columns into a zstd Parquet file in memory.

pub mod schema;

mod columns;
mod write;

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::error::FormatError;
use heatpipe_core::keys::session_index_key;
use heatpipe_core::session::SessionIndex;
use heatpipe_io::blocking::{TaskFailed, on_blocking};
use heatpipe_io::store::{ObjectStore, StoreError, StoreErrorKind};

pub use write::EXPORT_ZSTD_LEVEL;

/// Why a day could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The day has no session index: it was never processed (or it was aged out).
    #[error("no session index for {site} on {date}: process the day first (heatpipe process)")]
    NotProcessed { site: String, date: NaiveDate },
    /// The session index could not be read or the files could not be written to the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session index is corrupt or of a version this build does not read.
    #[error("session index {key}: {source}")]
    Index { key: String, source: FormatError },
    /// The Parquet writer refused the columns (a bug, or a value out of Parquet's range).
    #[error("writing {file}: {message}")]
    Parquet { file: &'static str, message: String },
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

/// What [`export_day`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedDay {
    pub sessions: usize,
    pub page_views: usize,
    /// The keys written in the output store, with their sizes in bytes.
    pub files: Vec<(String, usize)>,
}

/// Returns the key of one of the day's exported files in the output store.
pub fn export_key(site: &str, date: NaiveDate, file: &str) -> String {
    format!("{site}/{date}/{file}")
}

/// Exports `site`'s sessions and page views of `date` from `store` into `out` (a local folder
/// or a bucket, as a store). Each file is written whole, so a reader sees the old file or the
/// new one.
pub async fn export_day(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    out: &dyn ObjectStore,
) -> Result<ExportedDay, ExportError> {
    let key = session_index_key(site, date);
    let bytes = store.get(&key).await.map_err(|err| match err.kind {
        StoreErrorKind::NotFound => ExportError::NotProcessed {
            site: site.to_owned(),
            date,
        },
        _ => ExportError::Store(err),
    })?;
    let (site_owned, index_key) = (site.to_owned(), key.clone());
    let files = on_blocking(move || -> Result<_, ExportError> {
        let index = SessionIndex::decode(&bytes).map_err(|source| ExportError::Index {
            key: index_key,
            source,
        })?;
        let sessions = write::sessions_file(&columns::sessions(&site_owned, date, &index))?;
        let page_views = write::page_views_file(&columns::page_views(&site_owned, date, &index))?;
        let num_page_views = index.sessions.iter().map(|s| s.page_views.len()).sum();
        Ok((index.sessions.len(), num_page_views, sessions, page_views))
    })
    .await??;
    let (sessions, page_views, sessions_file, page_views_file) = files;
    let mut written = Vec::new();
    for (name, file) in [
        ("sessions.parquet", sessions_file),
        ("page_views.parquet", page_views_file),
    ] {
        let key = export_key(site, date, name);
        let len = file.len();
        out.put(&key, Bytes::from(file)).await?;
        written.push((key, len));
    }
    Ok(ExportedDay {
        sessions,
        page_views,
        files: written,
    })
}

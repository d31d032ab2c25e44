//! The write of a day's outputs, for `process` and `merge` alike: each page's aggregate, the
//! session index, and last the page index that lists the aggregates, so that a reader who finds
//! the page index finds everything it lists.

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::agg::PageAgg;
use heatpipe_core::keys::{page_agg_key, pages_key, session_index_key};
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;
use rayon::prelude::*;

use crate::aggregate::finalize::complete_pages;
use crate::error::ProcessError;
use crate::pipeline::spill::DayFinisher;
use crate::types::FastMap;

/// Completes a day whose passes are all added and writes it: its page aggregates are encoded
/// and stored while its session index is assembled, and the page index, which lists the
/// aggregates, is stored last. Returns how many pages and sessions the day has.
pub(crate) async fn write_day(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    finisher: DayFinisher,
) -> Result<(u64, u64), ProcessError> {
    let (pages, finished) = finisher.into_parts();
    let sessions = finished.count();
    let session_index = on_blocking(move || finished.write_index());
    let owned_site = site.to_owned();
    let (objects, page_index) =
        on_blocking(move || encode_pages(&owned_site, date, pages)).await??;
    futures::future::try_join_all(
        objects
            .iter()
            .map(|(key, bytes)| store.put(key, bytes.clone())),
    )
    .await?;
    let (session_index, retired) = session_index.await??;
    store
        .put(&session_index_key(site, date), Bytes::from(session_index))
        .await?;
    store
        .put(&pages_key(site, date), Bytes::from(page_index))
        .await?;
    retired.free_later();
    Ok((objects.len() as u64, sessions))
}

/// Objects to store, by key.
type Objects = Vec<(String, Bytes)>;

/// Completes a day's pages and encodes them (bincode + zstd, on the rayon pool): each page's
/// aggregate with the key it is stored at, and the page index.
fn encode_pages(
    site: &str,
    date: NaiveDate,
    pages: FastMap<String, PageAgg>,
) -> Result<(Objects, Vec<u8>), ProcessError> {
    let (pages, index) = complete_pages(pages);
    let objects = pages
        .par_iter()
        .map(|(key, page)| {
            let bytes = Bytes::from(page.encode()?);
            Ok::<_, ProcessError>((page_agg_key(site, date, key), bytes))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((objects, index.encode()?))
}

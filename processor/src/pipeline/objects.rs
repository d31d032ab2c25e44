//! Whole objects fetched by key, a few at once: the side lanes (rrweb recordings, DOM replay)
//! read their day's objects whole, unlike chunks, which are fetched by window and range.

use bytes::Bytes;
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_io::store::ObjectStore;

use crate::error::ProcessError;

/// Fetches every object of `keys`, at most `concurrency` at a time, in the order given; the
/// first store error ends the fetch, naming its key.
pub(crate) async fn fetch_whole(
    store: &dyn ObjectStore,
    keys: impl IntoIterator<Item = String>,
    concurrency: usize,
) -> Result<Vec<(String, Bytes)>, ProcessError> {
    stream::iter(keys)
        .map(|key| async move {
            let bytes = store
                .get(&key)
                .await
                .map_err(|source| ProcessError::Chunk {
                    key: key.clone(),
                    source,
                })?;
            Ok::<_, ProcessError>((key, bytes))
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

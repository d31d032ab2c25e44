//! What reached the store: processes a day and reads each session's clicks from its session
//! index.

use std::collections::BTreeMap;
use std::sync::Arc;

use heatpipe_core::keys::{parse_date, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_io::store::ObjectStore;
use heatpipe_processor::{ProcessOptions, process_day};

/// Processes `site` on `date` (`YYYY-MM-DD`) and returns each stored session's clicks, after
/// checking that no chunk or block was skipped as corrupt.
pub async fn stored_clicks(
    store: Arc<dyn ObjectStore>,
    site: &str,
    date: &str,
) -> BTreeMap<String, u64> {
    let date = parse_date(date).expect("date");
    let summary = process_day(store.clone(), &ProcessOptions::new(site, date))
        .await
        .expect("process");
    assert_eq!(
        (summary.chunks_skipped, summary.blocks_skipped),
        (0, 0),
        "{summary:?}"
    );
    let index = SessionIndex::decode(
        &store
            .get(&session_index_key(site, date))
            .await
            .expect("index"),
    )
    .expect("decode");
    index
        .sessions
        .into_iter()
        .map(|s| (s.id, s.num_clicks))
        .collect()
}

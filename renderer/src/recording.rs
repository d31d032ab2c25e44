//! DOM recordings for the player: a session's blocks found in the replay lane's day index (of
//! its day and the next, for a session that crosses midnight), fetched with ranged GETs,
//! decoded off the async workers and merged in time order. A damaged block is counted and left
//! out; the rest of the session still plays.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_core::error::FormatError;
use heatpipe_core::keys::replay_index_key;
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::compact::{decode_any_block, decode_dictionary};
use heatpipe_core::replay::index::{BlockLocation, ReplayIndex, decode_index};
use heatpipe_core::replay::lane::Span;
use heatpipe_core::replay::merge::{RecordedPageView, json_array, merge_blocks, page_views};
use heatpipe_io::on_blocking;
use heatpipe_io::store::{ObjectStore, StoreErrorKind};
use serde::Serialize;

use crate::error::{RenderError, RenderResult};

/// Blocks fetched at once.
const FETCH_CONCURRENCY: usize = 8;

/// A session's recording as the player is given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub session_id: String,
    pub date: NaiveDate,
    pub page_views: Vec<RecordedPageView>,
    pub events: Vec<ReplayEvent>,
    /// Damaged blocks left out.
    pub blocks_skipped: u64,
}

impl Recording {
    /// Writes the answer: `{"session", "date", "page_views", "blocks_skipped", "events": […]}`,
    /// the events as the stored rrweb JSON, unparsed.
    pub fn to_json(&self) -> RenderResult<String> {
        #[derive(Serialize)]
        struct Head<'a> {
            session: &'a str,
            date: String,
            page_views: &'a [RecordedPageView],
            blocks_skipped: u64,
            num_events: usize,
        }
        let head = serde_json::to_string(&Head {
            session: &self.session_id,
            date: self.date.to_string(),
            page_views: &self.page_views,
            blocks_skipped: self.blocks_skipped,
            num_events: self.events.len(),
        })
        .map_err(|err| RenderError::Internal(err.to_string()))?;
        let events = json_array(&self.events);
        let mut out = String::with_capacity(head.len() + events.len() + 12);
        out.push_str(&head[..head.len() - 1]);
        out.push_str(",\"events\":");
        out.push_str(&events);
        out.push('}');
        Ok(out)
    }
}

/// Loads the recording of `session_id` of `site` that started on `date`.
pub async fn load_recording(
    store: &dyn ObjectStore,
    site: &str,
    session_id: &str,
    date: NaiveDate,
) -> RenderResult<Recording> {
    let mut days = vec![date];
    days.extend(date.checked_add_days(Days::new(1)));
    let mut located: Vec<(String, BlockLocation)> = Vec::new();
    for day in days {
        let Some(index) = load_index(store, site, day).await? else {
            continue;
        };
        if let Some(session) = index.session(session_id) {
            for block in &session.blocks {
                if let Some(object) = index.object_of(block) {
                    located.push((object.to_owned(), block.clone()));
                }
            }
        }
    }
    if located.is_empty() {
        return Err(RenderError::NotFound(format!(
            "no DOM recording of session {session_id:?} of site {site} on {date}: the site \
             records none (data-replay=\"dom\") or the day is not processed yet"
        )));
    }
    located.sort_by_key(|(_, block)| block.first_at_ms);
    // Each compacted object's dictionary is fetched once, beside its blocks.
    let dictionaries: BTreeSet<(String, Span)> = located
        .iter()
        .filter_map(|(object, block)| block.dictionary.map(|span| (object.clone(), span)))
        .collect();
    let fetch = |object: String, span: Span| async move {
        let end = span.offset + u64::from(span.len);
        store.get_range(&object, span.offset..end).await
    };
    let fetched_dictionaries: Vec<bytes::Bytes> = stream::iter(dictionaries.iter().cloned())
        .map(|(object, span)| fetch(object, span))
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await?;
    let fetched: Vec<bytes::Bytes> = stream::iter(located.iter().cloned())
        .map(|(object, block)| {
            fetch(
                object,
                Span {
                    offset: block.offset,
                    len: block.len,
                },
            )
        })
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await?;
    let dictionaries: Vec<((String, Span), bytes::Bytes)> =
        dictionaries.into_iter().zip(fetched_dictionaries).collect();
    let blocks: Vec<(Option<(String, Span)>, bytes::Bytes)> = located
        .into_iter()
        .zip(fetched)
        .map(|((object, block), bytes)| (block.dictionary.map(|span| (object, span)), bytes))
        .collect();
    let session_id = session_id.to_owned();
    Ok(on_blocking(move || assemble(session_id, date, dictionaries, blocks)).await?)
}

/// Decodes the dictionaries and the blocks (each with its dictionary, if any) and merges them,
/// leaving out damaged blocks.
fn assemble(
    session_id: String,
    date: NaiveDate,
    dictionaries: Vec<((String, Span), bytes::Bytes)>,
    blocks: Vec<(Option<(String, Span)>, bytes::Bytes)>,
) -> Recording {
    let dictionaries: BTreeMap<(String, Span), Option<Vec<u8>>> = dictionaries
        .into_iter()
        .map(|(place, bytes)| (place, decode_dictionary(&bytes).ok()))
        .collect();
    let mut decoded = Vec::with_capacity(blocks.len());
    let mut blocks_skipped = 0;
    for (dictionary, bytes) in blocks {
        let dictionary = match &dictionary {
            None => Ok(None),
            Some(place) => match dictionaries.get(place) {
                Some(Some(dictionary)) => Ok(Some(dictionary.as_slice())),
                _ => Err(FormatError::Header("its dictionary is damaged".into())),
            },
        };
        match dictionary.and_then(|dictionary| decode_any_block(&bytes, dictionary)) {
            Ok(events) => decoded.push(events),
            Err(err) => {
                tracing::warn!(session = %session_id, error = %err, "skipping a damaged replay block");
                blocks_skipped += 1;
            }
        }
    }
    let events = merge_blocks(decoded);
    Recording {
        page_views: page_views(&events),
        session_id,
        date,
        events,
        blocks_skipped,
    }
}

/// Loads the day index of `site` on `day`, or None when the day has none. A damaged index is
/// an error (the processor rewrites it on its next pass).
async fn load_index(
    store: &dyn ObjectStore,
    site: &str,
    day: NaiveDate,
) -> RenderResult<Option<ReplayIndex>> {
    match store.get(&replay_index_key(site, day)).await {
        Ok(bytes) => Ok(Some(on_blocking(move || decode_index(&bytes)).await??)),
        Err(err) if err.kind == StoreErrorKind::NotFound => Ok(None),
        Err(err) => Err(err.into()),
    }
}

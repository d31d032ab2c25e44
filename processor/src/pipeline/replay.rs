//! The day's replay lane (see [`heatpipe_core::replay`]): the index of which blocks hold each
//! session's recording, written from the headers of the day's `.hpd` objects (one ranged GET
//! each), and — in a nightly run — the compaction of the day's objects into one, each session
//! one block compressed hard against a dictionary of the day's page snapshots (see
//! [`heatpipe_core::replay::compact`]), which is what keeps a recording cheaper than rrweb's
//! JSON + gzip.
//!
//! A compaction writes its object (naming its inputs as consumed), then the index, then deletes
//! the inputs; a crash in between leaves inputs that every reader already ignores, and the next
//! run deletes them. Damaged objects and blocks are reported and left out; a store error fails
//! the run.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_core::keys::{replay_compacted_key, replay_day_prefix, replay_index_key};
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::compact::{decode_any_block, decode_dictionary, encode_compacted};
use heatpipe_core::replay::index::{ReplayIndex, SessionRecording, encode_index};
use heatpipe_core::replay::lane::{
    LANE_PREAMBLE_LEN, LaneHeader, SessionEvents, block_bytes, decode_header, header_span,
};
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::ProcessError;
use crate::pipeline::objects::fetch_whole;
use crate::pipeline::report::ProcessSummary;

/// Bytes asked for first when reading a header: most headers fit.
const HEADER_FIRST_READ: u64 = 64 << 10;

/// What indexing (and compacting) a day's replay lane did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayDay {
    pub sessions: u64,
    pub objects: u64,
    /// Objects a compaction replaced (deleted).
    pub compacted: u64,
}

/// Indexes the replay lane of `site` on `date`, compacting it first when `compact`.
pub async fn index_replay_day(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    compact: bool,
    fetch_concurrency: usize,
    summary: &mut ProcessSummary,
) -> Result<ReplayDay, ProcessError> {
    let prefix = replay_day_prefix(site, date);
    let listed: Vec<(String, u64)> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter(|meta| meta.key.ends_with(".hpd"))
        .map(|meta| (meta.key, meta.size_bytes))
        .collect();
    let index_key = replay_index_key(site, date);
    if listed.is_empty() {
        store.delete(&index_key).await?;
        return Ok(ReplayDay::default());
    }
    let mut headers = read_headers(store, &listed, fetch_concurrency, summary).await?;
    let mut index = ReplayIndex::from_headers(&headers);
    let mut compacted = Vec::new();
    if compact && needs_compaction(&headers, &index) {
        let all_keys: Vec<String> = listed.iter().map(|(key, _)| key.clone()).collect();
        let (key, header) = compact_day(
            store,
            site,
            date,
            &index,
            all_keys,
            fetch_concurrency,
            summary,
        )
        .await?;
        compacted = header.consumed.clone();
        headers.insert(key, header);
        index = ReplayIndex::from_headers(&headers);
    }
    let report = ReplayDay {
        sessions: index.sessions.len() as u64,
        objects: index.objects.len() as u64,
        compacted: compacted.len() as u64,
    };
    let bytes = on_blocking(move || encode_index(&index)).await??;
    store.put(&index_key, bytes.into()).await?;
    for key in compacted {
        store.delete(&key).await?;
    }
    Ok(report)
}

/// Returns whether the day is anything but one compacted object with nothing left over.
fn needs_compaction(headers: &BTreeMap<String, LaneHeader>, index: &ReplayIndex) -> bool {
    let leftovers = headers.len() > index.objects.len();
    let single_compacted = index.objects.len() == 1
        && headers
            .get(&index.objects[0])
            .is_some_and(|header| !header.consumed.is_empty());
    leftovers || !single_compacted
}

/// Reads the header of every listed object (by key); a damaged one is reported and left out.
async fn read_headers(
    store: &dyn ObjectStore,
    listed: &[(String, u64)],
    fetch_concurrency: usize,
    summary: &mut ProcessSummary,
) -> Result<BTreeMap<String, LaneHeader>, ProcessError> {
    let read: Vec<(String, Result<LaneHeader, String>)> = stream::iter(listed.iter().cloned())
        .map(|(key, size)| async move {
            let header = read_header(store, &key, size).await?;
            Ok::<_, ProcessError>((key, header))
        })
        .buffered(fetch_concurrency.max(1))
        .try_collect()
        .await?;
    let mut headers = BTreeMap::new();
    for (key, header) in read {
        match header {
            Ok(header) => {
                headers.insert(key, header);
            }
            Err(reason) => summary.note_skipped(true, key, reason),
        }
    }
    Ok(headers)
}

/// Reads one object's header with one ranged GET (two when it is large). The outer error is
/// the store's; the inner one says why the bytes are not a header.
async fn read_header(
    store: &dyn ObjectStore,
    key: &str,
    size: u64,
) -> Result<Result<LaneHeader, String>, ProcessError> {
    let chunk_error = |source| ProcessError::Chunk {
        key: key.to_owned(),
        source,
    };
    if size < LANE_PREAMBLE_LEN as u64 {
        return Ok(Err(format!("replay lane object of {size} bytes")));
    }
    let first = store
        .get_range(key, 0..size.min(HEADER_FIRST_READ))
        .await
        .map_err(chunk_error)?;
    let span = match header_span(&first) {
        Ok(span) => span as u64,
        Err(err) => return Ok(Err(err.to_string())),
    };
    let bytes = if span <= first.len() as u64 {
        first
    } else if span <= size {
        store.get_range(key, 0..span).await.map_err(chunk_error)?
    } else {
        return Ok(Err(format!(
            "header of {span} bytes in an object of {size}"
        )));
    };
    Ok(on_blocking(move || decode_header(&bytes))
        .await?
        .map_err(|err| err.to_string()))
}

/// Writes the day's sessions, as the index finds them, into one compacted object that
/// consumes every listed key; returns its key and header. Damaged blocks are reported and
/// left out; the rest of each session is kept.
async fn compact_day(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    index: &ReplayIndex,
    mut consumed: Vec<String>,
    fetch_concurrency: usize,
    summary: &mut ProcessSummary,
) -> Result<(String, LaneHeader), ProcessError> {
    let objects = fetch_whole(store, index.objects.iter().cloned(), fetch_concurrency).await?;
    consumed.sort();
    let tag = format!("{:016x}", xxh3_64(consumed.join("\n").as_bytes()));
    let key = replay_compacted_key(site, date, &tag);
    consumed.retain(|input| *input != key);
    let sessions = index.sessions.clone();
    let (encoded, header, damaged) =
        on_blocking(move || gather_and_encode(&objects, sessions, consumed)).await??;
    for (object, reason) in damaged {
        summary.note_skipped(false, object, reason);
    }
    store.put(&key, encoded.into()).await?;
    Ok((key, header))
}

type Encoded = (Vec<u8>, LaneHeader, Vec<(String, String)>);

/// Decodes every session's blocks (objects in the index's order) and encodes them as one
/// compacted object consuming `consumed` (see [`heatpipe_core::replay::compact`]); returns it,
/// its header, and the damaged blocks by object key.
fn gather_and_encode(
    objects: &[(String, bytes::Bytes)],
    sessions: Vec<SessionRecording>,
    consumed: Vec<String>,
) -> Result<Encoded, ProcessError> {
    let mut damaged = Vec::new();
    let mut dictionaries: BTreeMap<(u32, u64), Result<Vec<u8>, String>> = BTreeMap::new();
    let mut gathered = Vec::with_capacity(sessions.len());
    for session in sessions {
        let mut events: Vec<ReplayEvent> = Vec::new();
        for block in &session.blocks {
            let Some((key, bytes)) = objects.get(block.object as usize) else {
                continue;
            };
            let dictionary = match block.dictionary {
                None => Ok(None),
                Some(span) => dictionaries
                    .entry((block.object, span.offset))
                    .or_insert_with(|| {
                        block_bytes(bytes, span.offset, span.len)
                            .and_then(decode_dictionary)
                            .map_err(|err| err.to_string())
                    })
                    .as_ref()
                    .map(|dictionary| Some(dictionary.as_slice()))
                    .map_err(Clone::clone),
            };
            let decoded = dictionary.and_then(|dictionary| {
                block_bytes(bytes, block.offset, block.len)
                    .and_then(|bytes| decode_any_block(bytes, dictionary))
                    .map_err(|err| err.to_string())
            });
            match decoded {
                Ok(found) => events.extend(found),
                Err(err) => damaged.push((
                    key.clone(),
                    format!("block of session {}: {err}", session.session_id),
                )),
            }
        }
        gathered.push(SessionEvents {
            session_id: session.session_id,
            events,
        });
    }
    let encoded = encode_compacted(gathered, consumed)?;
    let header = decode_header(&encoded)?;
    Ok((encoded, header, damaged))
}

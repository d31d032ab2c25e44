//! Segment files and the records in them: where a segment lives, the few file operations the
//! writer needs ([`SegmentFile`], so tests can make them fail), how a record is framed
//! (`len u32 LE | crc32 u32 LE | bincode`, the length's top bit marking an rrweb batch), and reading a segment back up to its last whole
//! record.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use heatpipe_core::frame::bincode_config;

use heatpipe_core::event::Stream;
use heatpipe_core::replay::ReplayBatch;
use heatpipe_core::rrweb::RrwebBatch;

use super::{LoggedBatch, WalError, WalRecord};

/// Returns the file of `segment` of `collector_id` under the log folder `dir`.
pub(super) fn segment_path(dir: &Path, collector_id: &str, segment: u64) -> PathBuf {
    dir.join(collector_id).join(format!("{segment:016}.log"))
}

/// The operations the writer performs on its open segment.
pub(super) trait SegmentFile: Send {
    /// Appends `bytes`; on error, any prefix of them may have been written.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes everything appended durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Cuts the file back to `len` bytes and makes that durable.
    fn cut_to(&mut self, len: u64) -> std::io::Result<()>;
}

impl SegmentFile for File {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }

    fn cut_to(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)?;
        self.sync_data()
    }
}

/// Opens the segment files of a log; tests swap in one whose files fail on purpose.
pub(super) type SegmentOpener = Box<dyn Fn(&Path) -> std::io::Result<Box<dyn SegmentFile>> + Send>;

/// The opener of real segment files: creates the file (it must not exist).
pub(super) fn open_segment_file(path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    Ok(Box::new(file))
}

/// Syncs `folder`, so the files created or removed in it survive a crash.
pub(super) fn sync_folder(folder: &Path) -> std::io::Result<()> {
    File::open(folder)?.sync_all()
}

/// The top bit of a record's length marks an rrweb batch, the next one a DOM recording batch;
/// records of native batches (the only kind the first versions wrote) leave both clear, so
/// their segments read as before.
const RRWEB_RECORD: u32 = 1 << 31;
const REPLAY_RECORD: u32 = 1 << 30;
const KIND_BITS: u32 = RRWEB_RECORD | REPLAY_RECORD;

/// Reads a segment's records, stopping at a torn or corrupt tail; returns them and the number
/// of bytes dropped there.
pub fn read_segment(bytes: &[u8]) -> (Vec<WalRecord>, usize) {
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= 8 {
        let word = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let len = (word & !KIND_BITS) as usize;
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(record) = decode_payload(payload, word & KIND_BITS) else {
            break;
        };
        records.push(record);
        at += 8 + len;
    }
    (records, bytes.len() - at)
}

fn decode_payload(payload: &[u8], kind: u32) -> Option<WalRecord> {
    let config = bincode_config();
    match kind {
        RRWEB_RECORD => {
            let ((site, batch), _): ((String, RrwebBatch), _) =
                bincode::serde::decode_from_slice(payload, config).ok()?;
            Some(WalRecord::rrweb(site, batch))
        }
        REPLAY_RECORD => {
            let ((site, batch), _): ((String, ReplayBatch), _) =
                bincode::serde::decode_from_slice(payload, config).ok()?;
            Some(WalRecord {
                site,
                batch: LoggedBatch::Replay(batch),
            })
        }
        0 => {
            let ((site, stream), _): ((String, Stream), _) =
                bincode::serde::decode_from_slice(payload, config).ok()?;
            Some(WalRecord::stream(site, stream))
        }
        _ => None,
    }
}

/// Frames one record for the log.
pub fn encode_record(record: &WalRecord) -> Result<Vec<u8>, WalError> {
    let config = bincode_config();
    let (payload, kind) = match &record.batch {
        LoggedBatch::Stream(stream) => (
            bincode::serde::encode_to_vec((&record.site, stream), config),
            0,
        ),
        LoggedBatch::Rrweb(batch) => (
            bincode::serde::encode_to_vec((&record.site, batch), config),
            RRWEB_RECORD,
        ),
        LoggedBatch::Replay(batch) => (
            bincode::serde::encode_to_vec((&record.site, batch), config),
            REPLAY_RECORD,
        ),
    };
    let payload = payload.map_err(|e| WalError::Encode(e.to_string()))?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| len & KIND_BITS == 0)
        .ok_or_else(|| WalError::Encode("record too large".into()))?;
    let mut framed = Vec::with_capacity(payload.len() + 8);
    framed.extend_from_slice(&(len | kind).to_le_bytes());
    framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    framed.extend_from_slice(&payload);
    Ok(framed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::testing::record;

    #[test]
    fn a_torn_tail_is_dropped_and_earlier_records_survive() {
        let mut bytes = encode_record(&record("a")).expect("encode");
        bytes.extend(encode_record(&record("b")).expect("encode"));
        let whole = bytes.len();
        bytes.extend(&encode_record(&record("c")).expect("encode")[..20]);
        let (records, dropped) = read_segment(&bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(dropped, bytes.len() - whole);
        let mut flipped = bytes[..whole].to_vec();
        flipped[whole - 1] ^= 1;
        assert_eq!(
            read_segment(&flipped).0.len(),
            1,
            "a corrupt record ends the readable log"
        );
    }

    #[test]
    fn native_rrweb_and_replay_records_read_back_in_order() {
        let rrweb = WalRecord::rrweb(
            "shop",
            RrwebBatch {
                session_id: "r".into(),
                events: vec![heatpipe_core::rrweb::PointerEvent::Move {
                    at_ms: 1_800_000_000_000,
                    x: 3,
                    y: 4,
                }],
            },
        );
        let replay = WalRecord {
            site: "shop".into(),
            batch: LoggedBatch::Replay(ReplayBatch {
                session_id: "r".into(),
                events: vec![heatpipe_core::replay::ReplayEvent {
                    at_ms: 1_800_000_000_000,
                    kind: 2,
                    json: r#"{"type":2,"data":{},"timestamp":1800000000000}"#.into(),
                }],
            }),
        };
        let mut bytes = encode_record(&record("a")).expect("encode");
        bytes.extend(encode_record(&rrweb).expect("encode"));
        bytes.extend(encode_record(&replay).expect("encode"));
        bytes.extend(encode_record(&record("b")).expect("encode"));
        let (records, dropped) = read_segment(&bytes);
        assert_eq!(dropped, 0);
        assert_eq!(records, [record("a"), rrweb, replay, record("b")]);
    }

    #[test]
    fn segments_written_before_rrweb_records_still_read() {
        /// A record as earlier versions framed it: bincode of `{site, stream}`.
        #[derive(serde::Serialize)]
        struct Earlier {
            site: String,
            stream: Stream,
        }
        let LoggedBatch::Stream(stream) = record("a").batch else {
            panic!("a native record");
        };
        let payload = bincode::serde::encode_to_vec(
            Earlier {
                site: "shop".into(),
                stream,
            },
            bincode_config(),
        )
        .expect("encode");
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend(crc32fast::hash(&payload).to_le_bytes());
        bytes.extend(&payload);
        assert_eq!(read_segment(&bytes), (vec![record("a")], 0));
    }
}

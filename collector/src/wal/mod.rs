//! The write-ahead log: a batch is acknowledged only once it is appended to the current segment
//! file and fsynced. One writer thread owns the segment; requests queue their records and the
//! writer appends everything queued, syncs once, and acknowledges them all (group commit), so
//! concurrent requests share one fsync. A segment is sealed by size, by age, or on shutdown, and
//! handed to the uploader, which deletes it only once its chunks are stored.
//!
//! ```text
//! {dir}/{collector_id}/{segment:016}.log      records: len u32 LE | crc32 u32 LE | bincode (site, stream)
//! ```
//! A crash can leave a torn record at the end of the last segment: it was never acknowledged,
//! and reading stops there.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use heatpipe_core::event::Stream;
use heatpipe_core::frame::bincode_config;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Most records written under one fsync.
const MAX_GROUP_RECORDS: usize = 4096;

/// Why a batch could not be made durable.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error(
        "the collector's log holds {pending_bytes} bytes not yet stored (limit {limit_bytes}); retry later"
    )]
    Full {
        pending_bytes: u64,
        limit_bytes: u64,
    },
    #[error("write-ahead log: {0}")]
    Io(String),
    #[error("the write-ahead log is closed")]
    Closed,
}

/// One logged batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalRecord {
    pub site: String,
    pub stream: Stream,
}

/// A sealed segment waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSegment {
    pub collector_id: String,
    pub segment: u64,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// How the log behaves.
#[derive(Debug, Clone)]
pub struct WalSettings {
    pub dir: PathBuf,
    pub collector_id: String,
    pub segment_max_bytes: u64,
    pub segment_max_age: Duration,
    /// Appends are refused while this many bytes are logged but not yet stored.
    pub max_pending_bytes: u64,
}

enum Command {
    Append {
        record: Vec<u8>,
        ack: oneshot::Sender<Result<(), String>>,
    },
    Seal {
        done: oneshot::Sender<()>,
    },
}

/// The handle requests append through.
#[derive(Debug)]
pub struct Wal {
    commands: mpsc::Sender<Command>,
    pending_bytes: Arc<AtomicU64>,
    max_pending_bytes: u64,
}

fn segment_path(dir: &Path, collector_id: &str, segment: u64) -> PathBuf {
    dir.join(collector_id).join(format!("{segment:016}.log"))
}

fn sync_folder(folder: &Path) -> std::io::Result<()> {
    File::open(folder)?.sync_all()
}

/// Returns every segment in `dir`, of every collector id, oldest first per collector.
pub fn existing_segments(dir: &Path) -> std::io::Result<Vec<SealedSegment>> {
    let mut found = Vec::new();
    let Ok(collectors) = fs::read_dir(dir) else {
        return Ok(found);
    };
    for collector in collectors {
        let collector = collector?;
        if !collector.file_type()?.is_dir() {
            continue;
        }
        let Some(collector_id) = collector.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        for entry in fs::read_dir(collector.path())? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(segment) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            found.push(SealedSegment {
                collector_id: collector_id.clone(),
                segment,
                path: entry.path(),
                size_bytes: entry.metadata()?.len(),
            });
        }
    }
    found.sort_by(|a, b| (&a.collector_id, a.segment).cmp(&(&b.collector_id, b.segment)));
    Ok(found)
}

/// Reads a segment's records, stopping at a torn or corrupt tail; returns them and the number
/// of bytes dropped there.
pub fn read_segment(bytes: &[u8]) -> (Vec<WalRecord>, usize) {
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= 8 {
        let len =
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match bincode::serde::decode_from_slice::<WalRecord, _>(payload, bincode_config()) {
            Ok((record, _)) => records.push(record),
            Err(_) => break,
        }
        at += 8 + len;
    }
    (records, bytes.len() - at)
}

/// Frames one record for the log.
pub fn encode_record(record: &WalRecord) -> Result<Vec<u8>, WalError> {
    let payload = bincode::serde::encode_to_vec(record, bincode_config())
        .map_err(|e| WalError::Io(e.to_string()))?;
    let len = u32::try_from(payload.len()).map_err(|_| WalError::Io("record too large".into()))?;
    let mut framed = Vec::with_capacity(payload.len() + 8);
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    framed.extend_from_slice(&payload);
    Ok(framed)
}

impl Wal {
    /// Opens the log: returns the handle, the segments left by earlier runs (to upload first),
    /// and the channel on which newly sealed segments arrive.
    pub fn open(
        settings: WalSettings,
    ) -> std::io::Result<(
        Wal,
        Vec<SealedSegment>,
        tokio::sync::mpsc::UnboundedReceiver<SealedSegment>,
    )> {
        let own_folder = settings.dir.join(&settings.collector_id);
        fs::create_dir_all(&own_folder)?;
        sync_folder(&settings.dir)?;
        let leftovers = existing_segments(&settings.dir)?;
        let pending_bytes = Arc::new(AtomicU64::new(leftovers.iter().map(|s| s.size_bytes).sum()));
        let newest_own = leftovers
            .iter()
            .filter(|s| s.collector_id == settings.collector_id)
            .map(|s| s.segment + 1)
            .max()
            .unwrap_or(0);
        // Segment numbers only grow, even if the log folder was lost: chunk keys never repeat.
        let first_segment = newest_own.max(chrono::Utc::now().timestamp_micros().max(0) as u64);
        let (commands, receiver) = mpsc::channel();
        let (sealed_sender, sealed) = tokio::sync::mpsc::unbounded_channel();
        let writer = Writer::start(
            settings.clone(),
            first_segment,
            pending_bytes.clone(),
            sealed_sender,
        )?;
        std::thread::Builder::new()
            .name("heatpipe-wal".into())
            .spawn(move || writer.run(receiver))?;
        Ok((
            Wal {
                commands,
                pending_bytes,
                max_pending_bytes: settings.max_pending_bytes,
            },
            leftovers,
            sealed,
        ))
    }

    /// Appends `record` and waits until it is on disk.
    pub async fn append(&self, record: &WalRecord) -> Result<(), WalError> {
        let pending_bytes = self.pending_bytes.load(Ordering::Relaxed);
        if pending_bytes > self.max_pending_bytes {
            return Err(WalError::Full {
                pending_bytes,
                limit_bytes: self.max_pending_bytes,
            });
        }
        let framed = encode_record(record)?;
        let (ack, acked) = oneshot::channel();
        self.commands
            .send(Command::Append {
                record: framed,
                ack,
            })
            .map_err(|_| WalError::Closed)?;
        acked
            .await
            .map_err(|_| WalError::Closed)?
            .map_err(WalError::Io)
    }

    /// Seals the current segment (if it holds anything) and waits until it is handed over.
    pub async fn seal(&self) {
        let (done, sealed) = oneshot::channel();
        if self.commands.send(Command::Seal { done }).is_ok() {
            let _ = sealed.await;
        }
    }

    /// Returns the bytes logged but not yet stored.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes.load(Ordering::Relaxed)
    }

    /// Records that a segment of `size_bytes` has been stored and deleted.
    pub fn release(&self, size_bytes: u64) {
        self.pending_bytes
            .fetch_sub(size_bytes.min(self.pending_bytes()), Ordering::Relaxed);
    }
}

/// The writer thread's state: the open segment.
struct Writer {
    settings: WalSettings,
    segment: u64,
    file: File,
    size_bytes: u64,
    opened_at: Instant,
    pending_bytes: Arc<AtomicU64>,
    sealed: tokio::sync::mpsc::UnboundedSender<SealedSegment>,
}

impl Writer {
    fn start(
        settings: WalSettings,
        segment: u64,
        pending_bytes: Arc<AtomicU64>,
        sealed: tokio::sync::mpsc::UnboundedSender<SealedSegment>,
    ) -> std::io::Result<Writer> {
        let file = Self::create(&settings, segment)?;
        Ok(Writer {
            settings,
            segment,
            file,
            size_bytes: 0,
            opened_at: Instant::now(),
            pending_bytes,
            sealed,
        })
    }

    fn create(settings: &WalSettings, segment: u64) -> std::io::Result<File> {
        let path = segment_path(&settings.dir, &settings.collector_id, segment);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        sync_folder(&settings.dir.join(&settings.collector_id))?;
        Ok(file)
    }

    fn run(mut self, commands: mpsc::Receiver<Command>) {
        loop {
            let wait = self
                .settings
                .segment_max_age
                .saturating_sub(self.opened_at.elapsed());
            let first = match commands.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(command) => command,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.rotate_if(
                        self.size_bytes > 0
                            && self.opened_at.elapsed() >= self.settings.segment_max_age,
                    );
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.rotate_if(self.size_bytes > 0);
                    self.remove_if_empty();
                    return;
                }
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP_RECORDS {
                match commands.try_recv() {
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
    }

    /// Writes every queued record, syncs once, acknowledges them, then honours seals.
    fn commit(&mut self, group: Vec<Command>) {
        let mut buffer = Vec::new();
        let mut acks = Vec::new();
        let mut seals = Vec::new();
        for command in group {
            match command {
                Command::Append { record, ack } => {
                    buffer.extend_from_slice(&record);
                    acks.push(ack);
                }
                Command::Seal { done } => seals.push(done),
            }
        }
        if !buffer.is_empty() {
            let result = self
                .file
                .write_all(&buffer)
                .and_then(|()| self.file.sync_data())
                .map_err(|e| e.to_string());
            if result.is_ok() {
                self.size_bytes += buffer.len() as u64;
                self.pending_bytes
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
            } else {
                tracing::error!(error = ?result, "write-ahead log append failed");
            }
            for ack in acks {
                let _ = ack.send(result.clone());
            }
        }
        let full = self.size_bytes >= self.settings.segment_max_bytes
            || self.opened_at.elapsed() >= self.settings.segment_max_age;
        self.rotate_if(self.size_bytes > 0 && (full || !seals.is_empty()));
        for done in seals {
            let _ = done.send(());
        }
    }

    fn rotate_if(&mut self, rotate: bool) {
        if !rotate {
            return;
        }
        let sealed = SealedSegment {
            collector_id: self.settings.collector_id.clone(),
            segment: self.segment,
            path: segment_path(
                &self.settings.dir,
                &self.settings.collector_id,
                self.segment,
            ),
            size_bytes: self.size_bytes,
        };
        match Self::create(&self.settings, self.segment + 1) {
            Ok(file) => {
                self.file = file;
                self.segment += 1;
                self.size_bytes = 0;
                self.opened_at = Instant::now();
                let _ = self.sealed.send(sealed);
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot open the next log segment; keeping the current one")
            }
        }
    }

    fn remove_if_empty(&self) {
        if self.size_bytes == 0 {
            let _ = fs::remove_file(segment_path(
                &self.settings.dir,
                &self.settings.collector_id,
                self.segment,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_fixtures::SessionBuilder;

    fn settings(dir: &Path) -> WalSettings {
        WalSettings {
            dir: dir.to_path_buf(),
            collector_id: "c1".into(),
            segment_max_bytes: 1 << 20,
            segment_max_age: Duration::from_secs(3600),
            max_pending_bytes: 1 << 30,
        }
    }

    fn record(session: &str) -> WalRecord {
        let stream = SessionBuilder::new(session, "https://a.example/", 1_800_000_000_000)
            .click(5, 1, 2, "#x")
            .build()
            .remove(0);
        WalRecord {
            site: "shop".into(),
            stream,
        }
    }

    #[tokio::test]
    async fn appended_records_are_sealed_and_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, leftovers, mut sealed) = Wal::open(settings(dir.path())).expect("open");
        assert!(leftovers.is_empty());
        let appends = (0..50)
            .map(|i| record(&format!("s{i}")))
            .collect::<Vec<_>>();
        // Concurrent appends: the writer groups them under shared fsyncs.
        let results = futures::future::join_all(appends.iter().map(|r| wal.append(r))).await;
        assert!(results.iter().all(Result::is_ok));
        assert!(wal.pending_bytes() > 0);
        wal.seal().await;
        let segment = sealed.recv().await.expect("sealed segment");
        let (records, dropped) = read_segment(&fs::read(&segment.path).expect("read"));
        assert_eq!((records.len(), dropped), (50, 0));
        let mut sessions: Vec<_> = records
            .iter()
            .map(|r| r.stream.session_id.clone())
            .collect();
        sessions.sort();
        let mut expected: Vec<_> = appends
            .iter()
            .map(|r| r.stream.session_id.clone())
            .collect();
        expected.sort();
        assert_eq!(sessions, expected);
    }

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

    #[tokio::test]
    async fn segments_left_by_a_previous_run_are_found_and_numbering_moves_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (wal, _, _sealed) = Wal::open(settings(dir.path())).expect("open");
            wal.append(&record("a")).await.expect("append");
        }
        // The writer thread may still hold the segment open; leftovers are whatever is on disk.
        std::thread::sleep(Duration::from_millis(200));
        let (wal, leftovers, _sealed) = Wal::open(settings(dir.path())).expect("reopen");
        assert_eq!(leftovers.len(), 1);
        assert_eq!(
            read_segment(&fs::read(&leftovers[0].path).expect("read"))
                .0
                .len(),
            1
        );
        assert!(wal.pending_bytes() >= leftovers[0].size_bytes);
    }

    #[tokio::test]
    async fn appends_are_refused_past_the_pending_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _, _sealed) = Wal::open(WalSettings {
            max_pending_bytes: 10,
            ..settings(dir.path())
        })
        .expect("open");
        wal.append(&record("a")).await.expect("first append fits");
        assert!(matches!(
            wal.append(&record("b")).await,
            Err(WalError::Full { .. })
        ));
    }
}

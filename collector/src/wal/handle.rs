//! [`Wal`], the handle requests append through: it refuses appends while too much is logged but
//! not yet stored, queues records for the writer thread and waits for their fsync.

use std::fs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;

use super::ownership::{LogLock, WalOpenError, claim_for_store, lock_folder, remove_empty_folders};
use super::recovery::{existing_segments, first_segment};
use super::segment::{encode_record, sync_folder};
use super::writer::{Command, Writer};
use super::{SealedSegment, WalError, WalRecord, WalSettings};

/// The handle requests append through.
#[derive(Debug)]
pub struct Wal {
    commands: mpsc::Sender<Command>,
    pending_bytes: Arc<AtomicU64>,
    max_pending_bytes: u64,
    _lock: LogLock,
}

/// What [`Wal::open`] gives: the handle, the segments earlier runs left (to upload first), and
/// the channel on which newly sealed segments arrive.
pub type OpenedWal = (
    Wal,
    Vec<SealedSegment>,
    tokio::sync::mpsc::UnboundedReceiver<SealedSegment>,
);

impl Wal {
    /// Opens the log for this process and `settings.store_identity`: locks the folder, checks
    /// that what earlier runs left belongs to the same store, and starts the writer thread.
    pub fn open(settings: WalSettings) -> Result<OpenedWal, WalOpenError> {
        let lock = lock_folder(&settings.dir)?;
        let io = |source| WalOpenError::Io {
            dir: settings.dir.clone(),
            source,
        };
        let leftovers = existing_segments(&settings.dir).map_err(io)?;
        claim_for_store(&settings.dir, &settings.store_identity, &leftovers)?;
        remove_empty_folders(&settings.dir, &settings.collector_id);
        let own_folder = settings.dir.join(&settings.collector_id);
        fs::create_dir_all(&own_folder).map_err(io)?;
        sync_folder(&settings.dir).map_err(io)?;
        let pending_bytes = Arc::new(AtomicU64::new(leftovers.iter().map(|s| s.size_bytes).sum()));
        let first_segment = first_segment(&settings.collector_id, &leftovers);
        let (commands, receiver) = mpsc::channel();
        let (sealed_sender, sealed) = tokio::sync::mpsc::unbounded_channel();
        let writer = Writer::start(
            settings.clone(),
            first_segment,
            pending_bytes.clone(),
            sealed_sender,
        )
        .map_err(io)?;
        std::thread::Builder::new()
            .name("heatpipe-wal".into())
            .spawn(move || writer.run(receiver))
            .map_err(io)?;
        Ok((
            Wal {
                commands,
                pending_bytes,
                max_pending_bytes: settings.max_pending_bytes,
                _lock: lock,
            },
            leftovers,
            sealed,
        ))
    }

    /// Appends `record` and waits until it is on disk.
    pub async fn append(&self, record: &WalRecord) -> Result<(), WalError> {
        self.append_all(std::slice::from_ref(record)).await
    }

    /// Appends `records`, all of them or none (one write, one fsync), and waits until they are
    /// on disk.
    pub async fn append_all(&self, records: &[WalRecord]) -> Result<(), WalError> {
        let pending_bytes = self.pending_bytes.load(Ordering::Relaxed);
        if pending_bytes > self.max_pending_bytes {
            return Err(WalError::Full {
                pending_bytes,
                limit_bytes: self.max_pending_bytes,
            });
        }
        let mut framed = Vec::new();
        for record in records {
            framed.extend(encode_record(record)?);
        }
        let (ack, acked) = oneshot::channel();
        self.commands
            .send(Command::Append {
                records: framed,
                ack,
            })
            .map_err(|_| WalError::Closed)?;
        acked.await.map_err(|_| WalError::Closed)?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::read_segment;
    use crate::wal::testing::{record, settings};

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
        let mut sessions: Vec<_> = records.iter().map(|r| r.session_id().to_owned()).collect();
        sessions.sort();
        let mut expected: Vec<_> = appends.iter().map(|r| r.session_id().to_owned()).collect();
        expected.sort();
        assert_eq!(sessions, expected);
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

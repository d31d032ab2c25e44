//! The writer under injected faults: a torn write (EIO after half the bytes), a failed fsync,
//! a full disk, and a segment that cannot even be created. Each refuses exactly its group and
//! loses nothing acknowledged before or after.

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use super::{Command, Writer};
use crate::wal::segment::{SegmentFile, sync_folder};
use crate::wal::testing::{record, settings};
use crate::wal::{SealedSegment, WalError, encode_record, read_segment};

/// What the next operation of a test file does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Writes half the bytes, then fails with EIO.
    TornWrite,
    /// Writes everything, then the fsync fails with EIO.
    FailedSync,
    /// Writes nothing: ENOSPC.
    DiskFull,
    /// Creating the next segment fails with ENOSPC.
    CannotCreate,
}

type Script = Arc<Mutex<VecDeque<Option<Fault>>>>;

/// A real segment file whose appends follow a script of faults (`None`: behave).
struct FaultyFile {
    file: File,
    script: Script,
    pending: Option<Fault>,
}

fn next_fault(script: &Script) -> Option<Fault> {
    script.lock().expect("script").pop_front().flatten()
}

impl SegmentFile for FaultyFile {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pending = next_fault(&self.script);
        match self.pending {
            Some(Fault::TornWrite) => {
                self.file.append(&bytes[..bytes.len() / 2])?;
                Err(std::io::Error::from_raw_os_error(EIO))
            }
            Some(Fault::DiskFull) => Err(std::io::Error::from(std::io::ErrorKind::StorageFull)),
            _ => self.file.append(bytes),
        }
    }

    fn sync(&mut self) -> std::io::Result<()> {
        if self.pending.take() == Some(Fault::FailedSync) {
            return Err(std::io::Error::from_raw_os_error(EIO));
        }
        self.file.sync()
    }

    fn cut_to(&mut self, len: u64) -> std::io::Result<()> {
        self.file.cut_to(len)
    }
}

/// EIO on Linux.
const EIO: i32 = 5;

fn faulty_writer(
    dir: &Path,
    script: Script,
) -> (
    Writer,
    tokio::sync::mpsc::UnboundedReceiver<SealedSegment>,
    Arc<AtomicU64>,
) {
    let settings = settings(dir);
    std::fs::create_dir_all(dir.join(&settings.collector_id)).expect("folder");
    sync_folder(dir).expect("sync");
    let (sealed_sender, sealed) = tokio::sync::mpsc::unbounded_channel();
    let pending = Arc::new(AtomicU64::new(0));
    let create_script = script.clone();
    let writer = Writer {
        settings,
        open_file: Box::new(move |path| {
            if create_script.lock().expect("script").front() == Some(&Some(Fault::CannotCreate)) {
                next_fault(&create_script);
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(path)?;
            Ok(Box::new(FaultyFile {
                file,
                script: create_script.clone(),
                pending: None,
            }) as Box<dyn SegmentFile>)
        }),
        segment: 1,
        file: None,
        size_bytes: 0,
        opened_at: Instant::now(),
        pending_bytes: pending.clone(),
        sealed: sealed_sender,
    };
    (writer, sealed, pending)
}

/// Appends one record of `session` as its own group; returns the answer.
fn append(writer: &mut Writer, session: &str) -> Result<(), WalError> {
    let (ack, mut answer) = oneshot::channel();
    writer.commit(vec![Command::Append {
        records: encode_record(&record(session)).expect("encode"),
        ack,
    }]);
    answer.try_recv().expect("answered")
}

/// Seals, then reads every sealed segment up to its acknowledged length.
fn stored_sessions(
    writer: &mut Writer,
    sealed: &mut tokio::sync::mpsc::UnboundedReceiver<SealedSegment>,
) -> Vec<String> {
    let (done, _) = oneshot::channel();
    writer.commit(vec![Command::Seal { done }]);
    let mut sessions = Vec::new();
    while let Ok(segment) = sealed.try_recv() {
        let bytes = std::fs::read(&segment.path).expect("read segment");
        let (records, dropped) = read_segment(&bytes[..segment.size_bytes as usize]);
        assert_eq!(dropped, 0, "a sealed segment ends at a whole record");
        sessions.extend(records.iter().map(|r| r.session_id().to_owned()));
    }
    sessions
}

#[test]
fn a_torn_write_and_a_failed_fsync_refuse_only_their_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script: Script = Arc::new(Mutex::new(
        [
            None,
            Some(Fault::TornWrite),
            None,
            Some(Fault::FailedSync),
            None,
        ]
        .into(),
    ));
    let (mut writer, mut sealed, pending) = faulty_writer(dir.path(), script);
    assert_eq!(append(&mut writer, "a"), Ok(()));
    assert!(matches!(append(&mut writer, "b"), Err(WalError::Io(_))));
    assert_eq!(append(&mut writer, "c"), Ok(()));
    assert!(matches!(append(&mut writer, "d"), Err(WalError::Io(_))));
    assert_eq!(append(&mut writer, "e"), Ok(()));
    assert_eq!(stored_sessions(&mut writer, &mut sealed), ["a", "c", "e"]);
    let one = encode_record(&record("a")).expect("encode").len() as u64;
    assert_eq!(
        pending.load(std::sync::atomic::Ordering::Relaxed),
        3 * one,
        "only acknowledged bytes are pending upload"
    );
}

#[test]
fn a_full_disk_is_reported_as_such_and_writing_resumes_when_space_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script: Script = Arc::new(Mutex::new(
        [None, Some(Fault::DiskFull), Some(Fault::CannotCreate), None].into(),
    ));
    let (mut writer, mut sealed, _) = faulty_writer(dir.path(), script);
    assert_eq!(append(&mut writer, "a"), Ok(()));
    assert!(matches!(
        append(&mut writer, "b"),
        Err(WalError::NoSpace(_))
    ));
    // The segment holding "a" was sealed; not even the next one can be created.
    assert!(matches!(
        append(&mut writer, "c"),
        Err(WalError::NoSpace(_))
    ));
    assert_eq!(append(&mut writer, "d"), Ok(()));
    assert_eq!(stored_sessions(&mut writer, &mut sealed), ["a", "d"]);
}

#[test]
fn a_failure_on_an_empty_segment_keeps_using_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script: Script = Arc::new(Mutex::new([Some(Fault::TornWrite), None].into()));
    let (mut writer, mut sealed, _) = faulty_writer(dir.path(), script);
    assert!(append(&mut writer, "a").is_err());
    assert_eq!(append(&mut writer, "b"), Ok(()));
    let segment_files = std::fs::read_dir(dir.path().join("c1"))
        .expect("folder")
        .count();
    assert_eq!(
        segment_files, 1,
        "the empty segment was cut back and reused"
    );
    assert_eq!(stored_sessions(&mut writer, &mut sealed), ["b"]);
}

#[test]
fn an_idle_writer_with_no_open_segment_does_not_spin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut writer, mut sealed, _) =
        faulty_writer(dir.path(), Arc::new(Mutex::new(VecDeque::new())));
    writer.settings.segment_max_age = std::time::Duration::from_millis(200);
    assert_eq!(append(&mut writer, "a"), Ok(()));
    assert_eq!(stored_sessions(&mut writer, &mut sealed), ["a"]);
    std::thread::sleep(std::time::Duration::from_millis(250));
    // Sealed, nothing open: the writer waits a whole segment age, not the 1 ms floor of an
    // open segment already past its age.
    assert_eq!(writer.idle_wait(), std::time::Duration::from_millis(200));
    // An empty segment open for longer than the age has nothing to seal either.
    writer.ensure_open().expect("open");
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert_eq!(writer.idle_wait(), std::time::Duration::from_millis(200));
    // Its age counts from its first record, which is not sealed at once.
    assert_eq!(append(&mut writer, "b"), Ok(()));
    assert!(writer.idle_wait() > std::time::Duration::from_millis(150));
}

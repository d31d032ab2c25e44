//! Who a log folder belongs to. A log belongs to one process at a time (an exclusive `flock` on
//! `{dir}/LOCK`, held as long as the [`LogLock`] lives; the kernel drops it if the process dies)
//! and to one store (`{dir}/STORE` records the store's identity). A log that still holds segments
//! of another store is refused rather than uploaded into the wrong one; an empty log is simply
//! taken over by the new store. Empty folders that earlier processes left are removed.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::SealedSegment;
use super::segment::sync_folder;

const LOCK_FILE: &str = "LOCK";
const STORE_FILE: &str = "STORE";

/// Why a log folder cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum WalOpenError {
    #[error(
        "the write-ahead log in {dir} is in use by another heatpipe process ({holder}); give each process its own --wal-dir"
    )]
    InUse { dir: PathBuf, holder: String },
    #[error(
        "the write-ahead log in {dir} belongs to store {recorded} and still holds {segments} segment(s) not yet stored there; \
         heatpipe will not upload them into {requested}. Start once with --store {recorded} to drain it, or use another --wal-dir"
    )]
    OtherStore {
        dir: PathBuf,
        recorded: String,
        requested: String,
        segments: usize,
    },
    #[error("write-ahead log in {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The exclusive hold on a log folder; released when dropped.
#[derive(Debug)]
pub struct LogLock {
    _file: File,
}

/// Locks `dir` for this process, or says which process holds it.
pub(super) fn lock_folder(dir: &Path) -> Result<LogLock, WalOpenError> {
    let io = |source| WalOpenError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    if let Err(err) = file.try_lock() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Err(match err {
            fs::TryLockError::WouldBlock => WalOpenError::InUse {
                dir: dir.to_path_buf(),
                holder: match holder.trim() {
                    "" => "pid unknown".to_owned(),
                    pid => format!("pid {pid}"),
                },
            },
            fs::TryLockError::Error(source) => io(source),
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(LogLock { _file: file })
}

/// Checks that the segments in `dir` belong to `store`, and records `store` as the log's owner.
pub(super) fn claim_for_store(
    dir: &Path,
    store: &str,
    leftovers: &[SealedSegment],
) -> Result<(), WalOpenError> {
    let io = |source| WalOpenError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    let path = dir.join(STORE_FILE);
    let recorded = match fs::read_to_string(&path) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(io(err)),
    };
    match recorded {
        Some(recorded) if recorded == store => return Ok(()),
        Some(recorded) if !leftovers.is_empty() => {
            return Err(WalOpenError::OtherStore {
                dir: dir.to_path_buf(),
                recorded,
                requested: store.to_owned(),
                segments: leftovers.len(),
            });
        }
        _ => {}
    }
    let temporary = dir.join(format!("{STORE_FILE}.tmp"));
    fs::write(&temporary, format!("{store}\n")).map_err(io)?;
    File::open(&temporary)
        .and_then(|file| file.sync_all())
        .map_err(io)?;
    fs::rename(&temporary, &path).map_err(io)?;
    sync_folder(dir).map_err(io)
}

/// Removes the folders of other collector ids that hold nothing (their segments were stored).
pub(super) fn remove_empty_folders(dir: &Path, own_collector_id: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let is_folder = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_folder && entry.file_name() != own_collector_id {
            // Fails, harmlessly, on a folder that still holds segments.
            let _ = fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftover(dir: &Path) -> SealedSegment {
        SealedSegment {
            collector_id: "c0".into(),
            segment: 1,
            path: dir.join("c0/0000000000000001.log"),
            size_bytes: 10,
        }
    }

    #[test]
    fn a_second_lock_on_the_same_folder_fails_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = lock_folder(dir.path()).expect("first lock");
        let err = lock_folder(dir.path()).expect_err("second lock");
        let message = err.to_string();
        assert!(matches!(err, WalOpenError::InUse { .. }), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(held);
        lock_folder(dir.path()).expect("free again once released");
    }

    #[test]
    fn segments_of_another_store_are_refused_and_an_empty_log_changes_hands() {
        let dir = tempfile::tempdir().expect("tempdir");
        claim_for_store(dir.path(), "s3://a/x", &[]).expect("first claim");
        claim_for_store(dir.path(), "s3://a/x", &[leftover(dir.path())]).expect("same store");
        let err = claim_for_store(dir.path(), "file:///data", &[leftover(dir.path())])
            .expect_err("other store with segments");
        let message = err.to_string();
        assert!(
            message.contains("s3://a/x") && message.contains("file:///data"),
            "{message}"
        );
        claim_for_store(dir.path(), "file:///data", &[]).expect("an empty log changes hands");
        assert_eq!(
            fs::read_to_string(dir.path().join(STORE_FILE)).expect("read"),
            "file:///data\n"
        );
    }

    #[test]
    fn empty_folders_of_earlier_processes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        for id in ["old-empty", "old-busy", "me"] {
            fs::create_dir(dir.path().join(id)).expect("mkdir");
        }
        fs::write(dir.path().join("old-busy/0000000000000001.log"), b"x").expect("write");
        remove_empty_folders(dir.path(), "me");
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["me", "old-busy"]);
    }
}

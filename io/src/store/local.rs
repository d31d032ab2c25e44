//! A store in a local folder: each key a file under the root.
//!
//! Writes go to a temporary file in the same folder, are synced, renamed over the target, and the
//! folder is synced, so a crash leaves the old object or the new one, never a torn file.
//! Temporary files start with `.` and are invisible to `list`.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult, validate_key};

/// Distinguishes concurrent temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A folder holding one file per key.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// `root` made absolute, for [`ObjectStore::identity`].
    canonical: PathBuf,
}

impl LocalStore {
    /// Opens (creating if needed) the folder at `root`.
    pub fn open(root: impl AsRef<Path>) -> StoreResult<Self> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root)
            .map_err(|err| io_error("open", &root.display().to_string(), err))?;
        let canonical = fs::canonicalize(&root)
            .map_err(|err| io_error("open", &root.display().to_string(), err))?;
        Ok(LocalStore { root, canonical })
    }

    /// Returns the folder this store keeps its files in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, operation: &'static str, key: &str) -> StoreResult<PathBuf> {
        validate_key(operation, key)?;
        if key.split('/').any(|segment| segment.starts_with('.')) {
            return Err(StoreError::new(
                StoreErrorKind::InvalidKey,
                operation,
                key,
                "segments starting with '.' are reserved",
            ));
        }
        Ok(self.root.join(key))
    }
}

fn io_error(operation: &'static str, key: &str, err: std::io::Error) -> StoreError {
    StoreError::new(io_kind(err.kind()), operation, key, err)
}

/// What kind of store failure a file-system error is. A disk error (`EIO`), a full disk or a
/// read-only one is `Io`, which is not retried: it will not clear in a minute. Only what says
/// it may pass is transient: a timeout, an interrupted call, or a lost connection of a network
/// file system.
fn io_kind(kind: std::io::ErrorKind) -> StoreErrorKind {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::NotFound => StoreErrorKind::NotFound,
        ErrorKind::PermissionDenied => StoreErrorKind::Unauthorized,
        ErrorKind::TimedOut => StoreErrorKind::Timeout,
        ErrorKind::Interrupted
        | ErrorKind::WouldBlock
        | ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::NetworkDown
        | ErrorKind::NetworkUnreachable
        | ErrorKind::HostUnreachable => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Io,
    }
}

async fn blocking<T: Send + 'static>(
    operation: &'static str,
    key: &str,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|err| io_error(operation, key, err)),
        Err(join) => Err(StoreError::new(StoreErrorKind::Io, operation, key, join)),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path
        .parent()
        .ok_or_else(|| std::io::Error::other("key has no folder"))?;
    fs::create_dir_all(folder)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = folder.join(format!(".{name}.{}.{counter}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(folder)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn read_range(path: &Path, range: Range<u64>) -> std::io::Result<Vec<u8>> {
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = range.start.min(len);
    let end = range.end.clamp(start, len);
    file.seek(SeekFrom::Start(start))?;
    let mut buffer = vec![0u8; (end - start) as usize];
    file.read_exact(&mut buffer)?;
    Ok(buffer)
}

fn list_files(root: &Path, prefix: &str) -> std::io::Result<Vec<ObjectMeta>> {
    // Start the walk at the deepest folder the prefix names, not at the root.
    let folder_part = prefix.rfind('/').map_or("", |at| &prefix[..at]);
    let start = if folder_part.is_empty() {
        root.to_path_buf()
    } else {
        root.join(folder_part)
    };
    let mut found = Vec::new();
    let mut pending = vec![(start, folder_part.to_owned())];
    while let Some((folder, key_prefix)) = pending.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let key = if key_prefix.is_empty() {
                name
            } else {
                format!("{key_prefix}/{name}")
            };
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                // Descend where the prefix goes deeper than this folder or ends inside its name.
                let folder_prefix = format!("{key}/");
                if prefix.starts_with(&folder_prefix) || folder_prefix.starts_with(prefix) {
                    pending.push((entry.path(), key));
                }
            } else if file_type.is_file() && key.starts_with(prefix) {
                found.push(ObjectMeta {
                    key,
                    size_bytes: entry.metadata()?.len(),
                });
            }
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        let path = self.path_of("put", key)?;
        blocking("put", key, move || write_atomically(&path, &bytes)).await
    }

    async fn get(&self, key: &str) -> StoreResult<Bytes> {
        let path = self.path_of("get", key)?;
        blocking("get", key, move || fs::read(path))
            .await
            .map(Bytes::from)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes> {
        let path = self.path_of("get_range", key)?;
        blocking("get_range", key, move || read_range(&path, range))
            .await
            .map(Bytes::from)
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let owned_prefix = prefix.to_owned();
        blocking("list", prefix, move || list_files(&root, &owned_prefix)).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of("delete", key)?;
        blocking("delete", key, move || match fs::remove_file(path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        })
        .await
    }

    fn identity(&self) -> String {
        format!("file://{}", self.canonical.display())
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;

    #[test]
    fn disk_errors_are_io_and_only_passing_ones_are_transient() {
        let cases = [
            (ErrorKind::NotFound, StoreErrorKind::NotFound),
            (ErrorKind::PermissionDenied, StoreErrorKind::Unauthorized),
            (ErrorKind::TimedOut, StoreErrorKind::Timeout),
            (ErrorKind::Interrupted, StoreErrorKind::Unavailable),
            (ErrorKind::ConnectionReset, StoreErrorKind::Unavailable),
            (ErrorKind::StorageFull, StoreErrorKind::Io),
            (ErrorKind::ReadOnlyFilesystem, StoreErrorKind::Io),
            (ErrorKind::InvalidData, StoreErrorKind::Io),
            (ErrorKind::Other, StoreErrorKind::Io),
        ];
        for (error, expected) in cases {
            assert_eq!(io_kind(error), expected, "{error:?}");
        }
        // EIO, as the kernel reports a failing disk.
        let eio = std::io::Error::from_raw_os_error(5);
        assert_eq!(io_error("get", "a", eio).kind, StoreErrorKind::Io);
    }
}

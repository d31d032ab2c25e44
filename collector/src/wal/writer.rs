//! The writer thread, which owns the open segment. It takes every command queued, writes the
//! records, syncs once and acknowledges them all (group commit); it seals the segment once it is
//! full, old enough, or asked to, and hands it to the uploader.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::segment::{segment_path, sync_folder};
use super::{SealedSegment, WalSettings};

/// Most records written under one fsync.
const MAX_GROUP_RECORDS: usize = 4096;

/// What a request asks of the writer thread.
pub(super) enum Command {
    Append {
        record: Vec<u8>,
        ack: oneshot::Sender<Result<(), String>>,
    },
    Seal {
        done: oneshot::Sender<()>,
    },
}

/// The writer thread's state: the open segment.
pub(super) struct Writer {
    settings: WalSettings,
    segment: u64,
    file: File,
    size_bytes: u64,
    opened_at: Instant,
    pending_bytes: Arc<AtomicU64>,
    sealed: tokio::sync::mpsc::UnboundedSender<SealedSegment>,
}

impl Writer {
    pub(super) fn start(
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

    pub(super) fn run(mut self, commands: mpsc::Receiver<Command>) {
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

//! The writer thread, which owns the open segment. It takes every command queued, writes the
//! records, syncs once and acknowledges them all (group commit); it seals the segment once it is
//! full, old enough, or asked to, and hands it to the uploader.
//!
//! A failed write or sync (a full disk, an I/O error) refuses the whole group and leaves the
//! log as it was before it: the segment is cut back to its last good length, and if it holds
//! acknowledged records it is sealed there (after a failed fsync the page cache of the file cannot
//! be trusted), so nothing is ever appended after a torn record. The next group opens a fresh
//! segment; once space comes back, writes succeed again without any operator action.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::segment::{SegmentFile, SegmentOpener, open_segment_file, segment_path, sync_folder};
use super::{SealedSegment, WalError, WalSettings};

/// Most commands taken into one group (one write, one fsync).
const MAX_GROUP_COMMANDS: usize = 4096;

/// What a request asks of the writer thread.
pub(super) enum Command {
    /// Appends framed records, all of them or none.
    Append {
        records: Vec<u8>,
        ack: oneshot::Sender<Result<(), WalError>>,
    },
    Seal {
        done: oneshot::Sender<()>,
    },
}

/// The writer thread's state: the open segment.
pub(super) struct Writer {
    settings: WalSettings,
    open_file: SegmentOpener,
    /// The number of the open segment, or of the next one to open.
    segment: u64,
    /// The open segment; `None` after a seal or a failed write, until the next group opens one.
    file: Option<Box<dyn SegmentFile>>,
    /// Bytes of whole, synced (acknowledged) records in the open segment.
    size_bytes: u64,
    opened_at: Instant,
    pending_bytes: Arc<AtomicU64>,
    sealed: tokio::sync::mpsc::UnboundedSender<SealedSegment>,
}

impl Writer {
    /// Starts writing segment `segment` of real files; fails if it cannot be created.
    pub(super) fn start(
        settings: WalSettings,
        segment: u64,
        pending_bytes: Arc<AtomicU64>,
        sealed: tokio::sync::mpsc::UnboundedSender<SealedSegment>,
    ) -> std::io::Result<Writer> {
        let mut writer = Writer {
            settings,
            open_file: Box::new(open_segment_file),
            segment,
            file: None,
            size_bytes: 0,
            opened_at: Instant::now(),
            pending_bytes,
            sealed,
        };
        writer
            .ensure_open()
            .map_err(|err| std::io::Error::other(err.to_string()))?;
        Ok(writer)
    }

    fn path(&self, segment: u64) -> PathBuf {
        segment_path(&self.settings.dir, &self.settings.collector_id, segment)
    }

    /// Opens segment `self.segment` unless a segment is open.
    fn ensure_open(&mut self) -> Result<&mut Box<dyn SegmentFile>, WalError> {
        if self.file.is_none() {
            let path = self.path(self.segment);
            let opened = (self.open_file)(&path).and_then(|file| {
                sync_folder(&self.settings.dir.join(&self.settings.collector_id))?;
                Ok(file)
            });
            match opened {
                Ok(file) => {
                    self.file = Some(file);
                    self.size_bytes = 0;
                    self.opened_at = Instant::now();
                }
                Err(err) => {
                    // A file created before the failure is empty; never reuse its number.
                    let _ = fs::remove_file(&path);
                    self.segment += 1;
                    return Err(WalError::from_io(&err));
                }
            }
        }
        self.file.as_mut().ok_or(WalError::Closed)
    }

    pub(super) fn run(mut self, commands: mpsc::Receiver<Command>) {
        loop {
            let wait = self.idle_wait();
            let first = match commands.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(command) => command,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.size_bytes > 0
                        && self.opened_at.elapsed() >= self.settings.segment_max_age
                    {
                        self.seal();
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.shut_down();
                    return;
                }
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP_COMMANDS {
                match commands.try_recv() {
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
    }

    /// How long to wait for a command: until the open segment is old enough to seal, or, with
    /// nothing to seal (no segment open, or an empty one), as long as a segment may live.
    fn idle_wait(&self) -> Duration {
        if self.file.is_some() && self.size_bytes > 0 {
            self.settings
                .segment_max_age
                .saturating_sub(self.opened_at.elapsed())
        } else {
            self.settings.segment_max_age
        }
    }

    /// Writes every queued record, syncs once, acknowledges them, then honours seals.
    pub(super) fn commit(&mut self, group: Vec<Command>) {
        let mut buffer = Vec::new();
        let mut acks = Vec::new();
        let mut seals = Vec::new();
        for command in group {
            match command {
                Command::Append { records, ack } => {
                    buffer.extend_from_slice(&records);
                    acks.push(ack);
                }
                Command::Seal { done } => seals.push(done),
            }
        }
        if !buffer.is_empty() {
            let result = self.write_group(&buffer);
            for ack in acks {
                let _ = ack.send(result.clone());
            }
        }
        let full = self.size_bytes >= self.settings.segment_max_bytes
            || self.opened_at.elapsed() >= self.settings.segment_max_age;
        if self.size_bytes > 0 && (full || !seals.is_empty()) {
            self.seal();
        }
        for done in seals {
            let _ = done.send(());
        }
    }

    /// Appends and syncs `buffer`; on failure, leaves the log as it was before (see the module).
    fn write_group(&mut self, buffer: &[u8]) -> Result<(), WalError> {
        let file = self.ensure_open()?;
        match file.append(buffer).and_then(|()| file.sync()) {
            Ok(()) => {
                if self.size_bytes == 0 {
                    // A segment's age counts from its first record.
                    self.opened_at = Instant::now();
                }
                self.size_bytes += buffer.len() as u64;
                self.pending_bytes
                    .fetch_add(buffer.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => {
                let error = WalError::from_io(&err);
                tracing::error!(%error, segment = self.segment, good_bytes = self.size_bytes, "write-ahead log append failed; the batch is refused");
                self.recover_from_failed_write();
                Err(error)
            }
        }
    }

    /// Cuts the open segment back to its acknowledged bytes; seals it there if it holds any,
    /// and drops it if it is empty and could not be cut.
    fn recover_from_failed_write(&mut self) {
        let cut = match self.file.as_mut() {
            Some(file) => file.cut_to(self.size_bytes),
            None => return,
        };
        if self.size_bytes > 0 {
            self.seal();
            return;
        }
        if let Err(err) = cut {
            tracing::warn!(error = %err, "cannot cut an empty log segment back; opening a fresh one");
            self.file = None;
            let _ = fs::remove_file(self.path(self.segment));
            self.segment += 1;
        }
    }

    /// Hands the open segment, holding `size_bytes` acknowledged bytes, to the uploader.
    fn seal(&mut self) {
        if self.file.take().is_none() {
            return;
        }
        let sealed = SealedSegment {
            collector_id: self.settings.collector_id.clone(),
            segment: self.segment,
            path: self.path(self.segment),
            size_bytes: self.size_bytes,
        };
        self.segment += 1;
        self.size_bytes = 0;
        let _ = self.sealed.send(sealed);
    }

    /// Seals what was written and removes an empty open segment.
    fn shut_down(&mut self) {
        if self.size_bytes > 0 {
            self.seal();
        } else if self.file.take().is_some() {
            let _ = fs::remove_file(self.path(self.segment));
        }
    }
}

#[cfg(test)]
mod tests;

//! What a run did: the counts `process` and `merge` print and return, and what was skipped,
//! each chunk or block once.

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSummary {
    pub chunks: u64,
    /// Passes over the chunks (more than one when the day exceeds the memory budget).
    pub passes: u32,
    pub chunks_skipped: u64,
    pub blocks_skipped: u64,
    /// Batches seen before (a retried upload) and counted once.
    pub duplicate_streams: u64,
    pub streams: u64,
    pub events: u64,
    pub pages: u64,
    pub sessions: u64,
    /// Sessions finished as soon as the window holding their last batch was aggregated,
    /// rather than at the end of their pass.
    pub sessions_finished_early: u64,
    /// rrweb sessions converted from the day's `.hpr` objects before its chunks were read.
    pub rrweb_sessions: u64,
    /// Sessions with a DOM recording in the day's replay index.
    pub recorded_sessions: u64,
    pub elapsed_ms: u64,
    /// Chunk key and reason of everything skipped: corrupt data only, since a store that fails
    /// to give a chunk fails the run.
    pub skipped: Vec<(String, String)>,
}

impl ProcessSummary {
    /// Returns the one-line summary printed after a run.
    pub fn line(&self) -> String {
        let seconds = self.elapsed_ms as f64 / 1000.0;
        let rate = if seconds > 0.0 {
            self.events as f64 / seconds
        } else {
            0.0
        };
        format!(
            "chunks={} passes={} skipped={} duplicates={} events={} pages={} sessions={} seconds={seconds:.3} events_per_s={rate:.0}",
            self.chunks,
            self.passes.max(1),
            self.chunks_skipped + self.blocks_skipped,
            self.duplicate_streams,
            self.events,
            self.pages,
            self.sessions,
        )
    }

    /// Adds what was done before the day's chunks were read: the rrweb conversion's sessions
    /// and the objects it skipped.
    pub(crate) fn add_preface(&mut self, preface: ProcessSummary) {
        self.rrweb_sessions += preface.rrweb_sessions;
        self.recorded_sessions += preface.recorded_sessions;
        self.chunks_skipped += preface.chunks_skipped;
        self.blocks_skipped += preface.blocks_skipped;
        self.skipped.extend(preface.skipped);
    }

    /// Records a skipped chunk or block once, however many passes meet it.
    pub(crate) fn note_skipped(&mut self, whole_chunk: bool, key: String, reason: String) {
        let entry = (key, reason);
        if self.skipped.contains(&entry) {
            return;
        }
        if whole_chunk {
            tracing::warn!(chunk = %entry.0, reason = %entry.1, "skipping corrupt chunk");
            self.chunks_skipped += 1;
        } else {
            tracing::warn!(chunk = %entry.0, reason = %entry.1, "skipping corrupt block");
            self.blocks_skipped += 1;
        }
        self.skipped.push(entry);
    }
}

//! What a run processes and how hard it pushes the store and memory: the options of one run
//! (and of `merge`), the slice of a day a shard takes, and the processor's part of the
//! configuration file they are made from. A leaf: it imports nothing from the crate.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use xxhash_rust::xxh3::xxh3_64;

/// Called after each window of chunks with (chunks done, chunks in all).
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(u64, u64) + Send + Sync>);

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// What to process and how hard to push the store.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    pub site: String,
    pub date: NaiveDate,
    /// Chunks fetched at once.
    pub fetch_concurrency: usize,
    /// Chunks held in memory at once (a window; the next window is fetched while this one is
    /// aggregated, so at most two are in memory).
    pub window_chunks: usize,
    /// Tag keys that make segments (`variant`, `tier`…), in the order segment keys list them.
    pub segment_tags: Vec<String>,
    /// Compressed chunk bytes one pass covers at most; a larger day is processed in several
    /// passes over session-id hashes (see [`crate::pipeline::partition`]).
    pub pass_chunk_bytes: u64,
    /// Where a day of several passes spills its finished sessions (see `spill`).
    pub spill_dir: PathBuf,
    /// Process only this slice of the day and store a partial for `merge`.
    pub shard: Option<Shard>,
    /// Compact the day's replay lane into one object (a nightly run; `serve`'s passes over
    /// today only index it).
    pub compact_replay: bool,
    pub progress: Option<ProgressHook>,
}

impl ProcessOptions {
    /// Options for `site` on `date` with the default [`ProcessorConfig`].
    pub fn new(site: &str, date: NaiveDate) -> Self {
        ProcessorConfig::default().options(site, date)
    }
}

/// The processor's part of the configuration file (`[processor]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    /// Tag keys that make segments, besides device, layout width and new/returning visitor.
    /// Each adds a dimension, so keep to keys with few values (`variant`, `tier`).
    pub segment_tags: Vec<String>,
    /// Chunks fetched at once.
    pub fetch_concurrency: usize,
    /// Chunks per window; memory holds at most two windows of chunks.
    pub window_chunks: usize,
    /// Compressed chunk MiB one pass covers at most. The page views a pass holds take a few
    /// times its chunk bytes (about 4× on the benchmark day), so this bounds that state whatever
    /// the size of the day; a larger day takes more passes (each reads every chunk again).
    /// `merge` applies the same budget to the compressed bytes of the shards' partials.
    pub pass_chunk_mib: u64,
    /// Where a day of several passes spills each pass's finished sessions until the session
    /// index is written (a temporary folder inside it, removed after the run); the system's
    /// temporary folder if unset. The runs take about as much disk as the day's session index.
    pub spill_dir: Option<PathBuf>,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            segment_tags: vec!["variant".into()],
            fetch_concurrency: 8,
            window_chunks: 32,
            pass_chunk_mib: 256,
            spill_dir: None,
        }
    }
}

impl ProcessorConfig {
    /// Returns the options of `merge`: its passes cover `pass_chunk_mib` of partials.
    pub fn merge_options(&self) -> MergeOptions {
        MergeOptions {
            pass_partial_bytes: self.pass_chunk_mib.max(1) << 20,
            spill_dir: self.spill_dir(),
        }
    }

    fn spill_dir(&self) -> PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// Returns the options of a run over `site` on `date`.
    pub fn options(&self, site: &str, date: NaiveDate) -> ProcessOptions {
        ProcessOptions {
            site: site.to_owned(),
            date,
            fetch_concurrency: self.fetch_concurrency.max(1),
            window_chunks: self.window_chunks.max(1),
            segment_tags: self.segment_tags.clone(),
            pass_chunk_bytes: self.pass_chunk_mib.max(1) << 20,
            spill_dir: self.spill_dir(),
            shard: None,
            compact_replay: false,
            progress: None,
        }
    }
}

/// How `merge` runs: the compressed partial bytes one pass covers at most, and where a merge of
/// several passes spills its finished sessions.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    pub pass_partial_bytes: u64,
    pub spill_dir: PathBuf,
}

/// Shard `index` of `count` (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Returns whether the chunk stored under `key` belongs to this shard. A chunk's shard
    /// depends on its key alone, so it stays put as more chunks arrive.
    pub fn includes(&self, key: &str) -> bool {
        xxh3_64(key.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `I/N` with 0 ≤ I < N (Kubernetes' `JOB_COMPLETION_INDEX` is 0-based too).
    fn from_str(value: &str) -> Result<Self, String> {
        let (index, count) = value
            .split_once('/')
            .ok_or_else(|| format!("shard must be I/N, got {value:?}"))?;
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| format!("shard index must be a number, got {index:?}"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("shard count must be a number, got {count:?}"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard index must be below the count (0-based), got {value}"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_zero_based_and_split_keys_without_overlap() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/3", "1/0", "x/2", "1", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let keys: Vec<String> = (0..300)
            .map(|i| format!("raw/s/2026-01-01/00/c-{i:016}.hpc"))
            .collect();
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for key in &keys {
            assert_eq!(shards.iter().filter(|s| s.includes(key)).count(), 1);
        }
        for shard in &shards {
            let mine = keys.iter().filter(|k| shard.includes(k)).count();
            assert!((60..140).contains(&mine), "shard {shard} got {mine} of 300");
        }
    }
}

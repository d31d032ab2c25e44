//! What an earlier run left: the segments still in the log folder (uploaded first at the next
//! start), and the number the next segment takes so chunk keys never repeat.

use std::fs;
use std::path::Path;

use super::SealedSegment;

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

/// Returns the number of the first segment this run of `collector_id` writes: past every segment
/// of it in `leftovers`, and no lower than the current time in microseconds.
pub(super) fn first_segment(collector_id: &str, leftovers: &[SealedSegment]) -> u64 {
    let newest_own = leftovers
        .iter()
        .filter(|s| s.collector_id == collector_id)
        .map(|s| s.segment + 1)
        .max()
        .unwrap_or(0);
    // Segment numbers only grow, even if the log folder was lost: chunk keys never repeat.
    newest_own.max(chrono::Utc::now().timestamp_micros().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Duration;

    use crate::wal::testing::{record, settings};
    use crate::wal::{Wal, read_segment};

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
}

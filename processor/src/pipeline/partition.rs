//! Bounded memory: a day whose chunks exceed the configured bytes per pass is processed in
//! several passes over its chunks, each keeping the page views of only the sessions whose id
//! hashes to it. Grids add up across passes and every session is finished whole in one pass, so
//! the output is the same bytes whatever the number of passes; what a pass holds in memory is
//! its share of the day's page views.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::types::session_key;

/// Seeds the session hash, so passes do not line up with anything else hashed by session id.
const PASS_SEED: u64 = 0x7061_7373;

/// The sessions one pass keeps: those whose id hashes to `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// Every session: a day done in one pass.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// Returns whether the session `session_id` belongs to this pass.
    pub fn includes(&self, session_id: &str) -> bool {
        self.count <= 1 || self.includes_key(session_key(session_id))
    }

    /// Returns whether the session whose [`session_key`] is `key` belongs to this pass.
    pub fn includes_key(&self, key: u128) -> bool {
        self.count <= 1
            || xxh3_64_with_seed(&key.to_le_bytes(), PASS_SEED) % u64::from(self.count)
                == u64::from(self.index)
    }
}

/// Returns how many passes a day of `chunk_bytes` (compressed) needs so that each pass covers
/// at most about `bytes_per_pass` of it.
pub fn pass_count(chunk_bytes: u64, bytes_per_pass: u64) -> u32 {
    let passes = chunk_bytes.div_ceil(bytes_per_pass.max(1)).max(1);
    u32::try_from(passes).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_needs_a_pass_per_budget_it_fills() {
        assert_eq!(pass_count(0, 100), 1);
        assert_eq!(pass_count(100, 100), 1);
        assert_eq!(pass_count(101, 100), 2);
        assert_eq!(pass_count(1_000, 100), 10);
        assert_eq!(pass_count(5, 0), 5);
    }

    #[test]
    fn every_session_belongs_to_exactly_one_pass() {
        for count in [1, 2, 3, 7] {
            let mut per_pass = vec![0u32; count as usize];
            for session in 0..3_000 {
                let id = format!("session-{session}");
                let owners: Vec<u32> = (0..count)
                    .filter(|index| {
                        Partition {
                            index: *index,
                            count,
                        }
                        .includes(&id)
                    })
                    .collect();
                assert_eq!(owners.len(), 1, "{id} with {count} passes");
                per_pass[owners[0] as usize] += 1;
            }
            // Roughly even: each pass gets at least half its share.
            assert!(
                per_pass.iter().all(|n| *n >= 3_000 / count / 2),
                "{per_pass:?}"
            );
        }
    }
}

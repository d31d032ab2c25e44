//! Naming a layout 3 block's sessions: the block numbers them in order, and whoever decodes it
//! knows their ids from the chunk header, or knows the one session it came for.

use super::BlockStreams;
use crate::chunk::SessionEntry;
use crate::codec::CodecError;

/// Where a decoder learns the ids of a layout 3 block's sessions (blocks of layouts 1 and 2
/// carry their own, and ignore this).
#[derive(Debug, Clone, Copy)]
pub enum SessionNames<'a> {
    /// The chunk header's list of the block's sessions, in block order. The block must hold
    /// exactly these sessions with exactly these batches, or it is refused.
    Header(&'a [SessionEntry]),
    /// One session's id and its position among the block's sessions, from a session index; the
    /// block's other sessions are left unnamed (an empty id).
    One { position: usize, id: &'a str },
    /// Nothing: every session is left unnamed (fuzzing, size reports).
    Unknown,
}

/// Gives each of the block's sessions its id from `names`, checking them against the block.
pub(super) fn name_sessions<'c>(
    block: &mut BlockStreams<'c>,
    names: SessionNames<'c>,
) -> Result<(), CodecError> {
    let count = block.heads.last().map_or(0, |head| head.session + 1);
    block.sessions = match names {
        SessionNames::Header(entries) => {
            check_against_header(block, entries)?;
            entries
                .iter()
                .map(|entry| entry.session_id.as_str())
                .collect()
        }
        SessionNames::One { position, id } => {
            if position >= count {
                return Err(CodecError::OutOfRange {
                    what: "session position",
                    value: position as u64,
                });
            }
            let mut sessions = vec![""; count];
            sessions[position] = id;
            sessions
        }
        SessionNames::Unknown => vec![""; count],
    };
    Ok(())
}

/// Checks that the block's streams are, session by session, the batches `entries` lists.
fn check_against_header(
    block: &BlockStreams<'_>,
    entries: &[SessionEntry],
) -> Result<(), CodecError> {
    let mismatch = |value: usize| CodecError::OutOfRange {
        what: "streams that differ from the chunk header",
        value: value as u64,
    };
    let keys = entries
        .iter()
        .enumerate()
        .flat_map(|(session, entry)| entry.streams.iter().map(move |key| (session, key)));
    let mut compared = 0;
    for (head, (session, key)) in block.heads.iter().zip(keys) {
        let same = head.session == session
            && head.batch_seq == key.batch_seq
            && head.page_view_index == key.page_view_index;
        if !same {
            return Err(mismatch(compared));
        }
        compared += 1;
    }
    let listed: usize = entries.iter().map(|entry| entry.streams.len()).sum();
    if compared != block.heads.len() || compared != listed {
        return Err(mismatch(compared));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::StreamKey;
    use crate::chunk::read::decode_streams;
    use crate::chunk::write::encode_columns;
    use crate::chunk::write::tests::stream;
    use crate::event::Stream;

    fn block_of(streams: &[Stream]) -> Vec<Vec<u8>> {
        encode_columns(&streams.iter().collect::<Vec<_>>())
    }

    fn entry(id: &str, keys: &[(u64, u32)]) -> SessionEntry {
        SessionEntry {
            session_id: id.into(),
            streams: keys
                .iter()
                .map(|&(batch_seq, page_view_index)| StreamKey {
                    batch_seq,
                    page_view_index,
                })
                .collect(),
        }
    }

    fn ids(columns: &[Vec<u8>], names: SessionNames<'_>) -> Result<Vec<String>, CodecError> {
        let block = decode_streams(columns, names)?;
        Ok(block.iter().map(|s| s.session_id.to_owned()).collect())
    }

    #[test]
    fn the_header_names_each_session_and_must_list_exactly_the_blocks_batches() {
        let columns = block_of(&[stream("a", 0, 0), stream("a", 0, 1), stream("b", 0, 0)]);
        let header = [entry("a", &[(0, 0), (1, 0)]), entry("b", &[(0, 0)])];
        assert_eq!(
            ids(&columns, SessionNames::Header(&header)).expect("named"),
            ["a", "a", "b"]
        );
        let wrong_headers = [
            vec![entry("a", &[(0, 0)]), entry("b", &[(0, 0)])],
            vec![entry("a", &[(0, 0), (1, 0)])],
            vec![entry("a", &[(0, 0), (2, 0)]), entry("b", &[(0, 0)])],
            vec![entry("a", &[(0, 0), (1, 1)]), entry("b", &[(0, 0)])],
            vec![
                entry("a", &[(0, 0), (1, 0)]),
                entry("b", &[(0, 0)]),
                entry("c", &[(0, 0)]),
            ],
        ];
        for header in &wrong_headers {
            assert!(
                ids(&columns, SessionNames::Header(header)).is_err(),
                "{header:?}"
            );
        }
    }

    #[test]
    fn one_named_session_leaves_the_others_unnamed() {
        let columns = block_of(&[stream("a", 0, 0), stream("b", 0, 0), stream("b", 1, 1)]);
        let names = SessionNames::One {
            position: 1,
            id: "b",
        };
        assert_eq!(ids(&columns, names).expect("named"), ["", "b", "b"]);
        let past_the_end = SessionNames::One {
            position: 2,
            id: "c",
        };
        assert!(ids(&columns, past_the_end).is_err());
        assert_eq!(
            ids(&columns, SessionNames::Unknown).expect("unnamed"),
            ["", "", ""]
        );
    }
}

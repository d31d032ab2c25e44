use super::*;
use crate::replay::erase::{Without, without_sessions};

fn event(at_ms: i64, text: &str) -> ReplayEvent {
    ReplayEvent {
        at_ms,
        kind: 3,
        json: format!(r#"{{"type":3,"data":{{"t":"{text}"}},"timestamp":{at_ms}}}"#),
    }
}

fn session(id: &str, events: Vec<ReplayEvent>) -> SessionEvents {
    SessionEvents {
        session_id: id.into(),
        events,
    }
}

#[test]
fn each_session_reads_back_from_its_own_block_in_time_order() {
    let object = encode_lane(
        vec![
            session("b", vec![event(30, "b1")]),
            session("a", vec![event(20, "a2"), event(10, "a1"), event(20, "a3")]),
            session("empty", vec![]),
        ],
        vec!["replay/s/2026-12-04/old.hpd".into()],
        3,
    )
    .expect("encode");
    let span = header_span(&object[..LANE_PREAMBLE_LEN]).expect("span");
    let header = decode_header(&object[..span]).expect("header");
    assert_eq!(header.consumed, ["replay/s/2026-12-04/old.hpd"]);
    let ids: Vec<&str> = header
        .blocks
        .iter()
        .map(|b| b.session_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(header.blocks[0].offset, span as u64);
    let a = &header.blocks[0];
    assert_eq!((a.first_at_ms, a.last_at_ms, a.num_events), (10, 20, 3));
    let events =
        decode_block(block_bytes(&object, a.offset, a.len).expect("in range")).expect("block");
    // Stable in time: a2 was emitted before a3 in the same millisecond.
    assert_eq!(events, [event(10, "a1"), event(20, "a2"), event(20, "a3")]);
    let b = decode_block(
        block_bytes(&object, header.blocks[1].offset, header.blocks[1].len).expect("in range"),
    );
    assert_eq!(b.expect("block"), [event(30, "b1")]);
    assert_eq!(
        header.blocks[1].offset + u64::from(header.blocks[1].len),
        object.len() as u64
    );
}

#[test]
fn damaged_headers_and_blocks_are_errors() {
    let object = encode_lane(vec![session("a", vec![event(1, "x")])], vec![], 3).expect("encode");
    let span = header_span(&object).expect("span");
    assert!(header_span(b"HPD").is_err());
    assert!(header_span(b"XXXX\0\0\0\0").is_err());
    assert!(decode_header(&object[..span - 1]).is_err());
    let header = decode_header(&object).expect("header");
    let entry = &header.blocks[0];
    let mut damaged = object.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x10;
    assert!(
        decode_block(block_bytes(&damaged, entry.offset, entry.len).expect("in range")).is_err()
    );
    let beyond = BlockEntry {
        offset: object.len() as u64,
        ..entry.clone()
    };
    assert!(block_bytes(&object, beyond.offset, beyond.len).is_err());
}

#[test]
fn offsets_stay_right_when_there_are_many_blocks() {
    // Enough sessions that block offsets pass bincode's one-byte varint limit.
    let sessions: Vec<SessionEvents> = (0..400)
        .map(|i| {
            session(
                &format!("s{i:04}"),
                vec![event(i, &"y".repeat(i as usize % 7))],
            )
        })
        .collect();
    let object = encode_lane(sessions.clone(), vec![], 1).expect("encode");
    let header = decode_header(&object).expect("header");
    for (entry, session) in header.blocks.iter().zip(&sessions) {
        let events = decode_block(block_bytes(&object, entry.offset, entry.len).expect("in range"))
            .expect("block");
        assert_eq!(events, session.events);
    }
}

#[test]
fn leaving_a_session_out_keeps_the_others_byte_for_byte() {
    let object = encode_lane(
        vec![
            session("a", vec![event(1, "a")]),
            session("b", vec![event(2, "b")]),
            session("c", vec![event(3, "c")]),
        ],
        vec!["old".into()],
        3,
    )
    .expect("encode");
    let erased = std::collections::BTreeSet::from(["b".to_owned()]);
    let Without::Rewritten { bytes, removed } =
        without_sessions(&object, &erased).expect("rewrite")
    else {
        panic!("b's block is in the object");
    };
    assert_eq!(removed, 1);
    let header = decode_header(&bytes).expect("header");
    assert_eq!(header.consumed, ["old"]);
    let left: Vec<Vec<ReplayEvent>> = header
        .blocks
        .iter()
        .map(|b| {
            decode_block(block_bytes(&bytes, b.offset, b.len).expect("in range")).expect("block")
        })
        .collect();
    assert_eq!(left, [vec![event(1, "a")], vec![event(3, "c")]]);
    let written_without = encode_lane(
        vec![
            session("a", vec![event(1, "a")]),
            session("c", vec![event(3, "c")]),
        ],
        vec!["old".into()],
        3,
    )
    .expect("encode");
    assert_eq!(bytes, written_without);
    let nobody = std::collections::BTreeSet::from(["z".to_owned()]);
    assert_eq!(
        without_sessions(&object, &nobody).expect("read"),
        Without::Untouched
    );
    let all = ["a", "b", "c"].map(String::from).into_iter().collect();
    assert_eq!(
        without_sessions(&object, &all).expect("read"),
        Without::Emptied { removed: 3 }
    );
}

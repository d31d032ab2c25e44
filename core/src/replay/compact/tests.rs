use std::collections::BTreeSet;

use super::*;
use crate::replay::erase::{Without, without_sessions};
use crate::replay::lane::{block_bytes, decode_header, encode_lane};

const CSS: &str = ".card{display:flex;padding:12px;border:1px solid #ddd}.btn{color:#fff}";

fn event(at_ms: i64, kind: u8, json: String) -> ReplayEvent {
    ReplayEvent { at_ms, kind, json }
}

/// A session on `page`: Meta, a full snapshot with the page's stylesheet, then `moves` moves.
fn session(id: &str, page: &str, start: i64, moves: i64) -> SessionEvents {
    let mut events = vec![
        event(
            start,
            4,
            format!(
                r#"{{"type":4,"data":{{"href":"{page}","width":1280,"height":800}},"timestamp":{start}}}"#
            ),
        ),
        event(
            start + 1,
            2,
            format!(
                r#"{{"type":2,"data":{{"node":{{"type":0,"id":1,"childNodes":[{{"type":2,"tagName":"style","attributes":{{"_cssText":"{}"}},"childNodes":[],"id":2}}]}},"initialOffset":{{"left":0,"top":0}}}},"timestamp":{}}}"#,
                CSS.repeat(40),
                start + 1
            ),
        ),
    ];
    for i in 0..moves {
        let t = start + 100 + i * 50;
        events.push(event(t, 3, format!(r#"{{"type":3,"data":{{"source":1,"positions":[{{"x":{},"y":{},"id":9,"timeOffset":0}}]}},"timestamp":{t}}}"#, (i * 37) % 1280, (i * 11) % 800)));
    }
    SessionEvents {
        session_id: id.into(),
        events,
    }
}

/// Every session of a whole object, decoded, by id.
fn read_all(object: &[u8]) -> Vec<(String, Vec<ReplayEvent>)> {
    decode_object(object)
        .expect("object")
        .into_iter()
        .map(|session| (session.session_id, session.events))
        .collect()
}

#[test]
fn a_compacted_object_reads_back_every_session_and_shares_its_snapshots() {
    let sessions: Vec<SessionEvents> = (0..6)
        .map(|i| session(&format!("s{i}"), "https://shop.example/", i * 1_000_000, 40))
        .chain([session("other", "https://shop.example/cart", 9_000_000, 40)])
        .collect();
    let compacted = encode_compacted(sessions.clone(), vec!["in".into()]).expect("compact");
    let plain =
        encode_lane(sessions.clone(), vec!["in".into()], COMPACTED_ZSTD_LEVEL).expect("plain");
    let header = decode_header(&compacted).expect("header");
    assert_eq!(header.consumed, ["in"]);
    let span = header.dictionary.expect("a dictionary");
    let dictionary =
        decode_dictionary(block_bytes(&compacted, span.offset, span.len).expect("in range"))
            .expect("dictionary");
    // One snapshot per page: the shop's first session's and the cart's.
    assert_eq!(
        dictionary.len(),
        sessions[0].events[1].json.len() + sessions[6].events[1].json.len()
    );
    let expected: Vec<(String, Vec<ReplayEvent>)> = {
        let mut sorted = sessions.clone();
        sorted.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        sorted
            .into_iter()
            .map(|s| (s.session_id, s.events))
            .collect()
    };
    assert_eq!(read_all(&compacted), expected);
    assert!(
        compacted.len() < plain.len(),
        "compacted {} bytes, without a dictionary {}",
        compacted.len(),
        plain.len()
    );
    // A shared block read without its dictionary is an error, never a panic.
    let entry = &header.blocks[0];
    let bytes = block_bytes(&compacted, entry.offset, entry.len).expect("in range");
    assert!(decode_any_block(bytes, None).is_err());
    assert!(decode_any_block(bytes, Some(b"not the dictionary")).is_err());
}

#[test]
fn erasing_the_session_whose_snapshot_made_the_dictionary_leaves_it_nowhere() {
    let mut first = session("a-first", "https://shop.example/", 0, 5);
    // The first session's snapshot differs from the others' by a marker.
    first.events[1].json = first.events[1].json.replace(".btn{", ".marker-of-a{");
    let sessions = vec![
        first,
        session("b", "https://shop.example/", 1_000_000, 5),
        session("c", "https://shop.example/", 2_000_000, 5),
    ];
    let compacted = encode_compacted(sessions.clone(), vec![]).expect("compact");
    let erased = BTreeSet::from(["a-first".to_owned()]);
    let Without::Rewritten { bytes, removed } =
        without_sessions(&compacted, &erased).expect("erase")
    else {
        panic!("a-first is in the object");
    };
    assert_eq!(removed, 1);
    assert_eq!(
        bytes,
        encode_compacted(sessions[1..].to_vec(), vec![]).expect("compact")
    );
    let header = decode_header(&bytes).expect("header");
    let span = header.dictionary.expect("a dictionary");
    let dictionary =
        decode_dictionary(block_bytes(&bytes, span.offset, span.len).expect("in range"))
            .expect("dictionary");
    assert!(!String::from_utf8_lossy(&dictionary).contains("marker-of-a"));
    let ids: Vec<String> = read_all(&bytes).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["b", "c"]);
}

//! Arbitrary bytes as replay lane data: a whole `.hpd` object (its header, dictionary and
//! blocks, plain or compressed against the dictionary), and a day index. The first byte picks
//! how the rest is framed so that mutations reach past the checksums: as it is, as the body of a
//! header frame inside an object, or as the body of an index frame. Decoding may fail, never
//! panic; an object that decodes is rewritten without its first session, and that decodes too.
#![no_main]

use std::collections::BTreeSet;

use heatpipe_core::frame::frame_from_raw;
use heatpipe_core::replay::compact::decode_object;
use heatpipe_core::replay::index::{REPLAY_INDEX_KIND, decode_index};
use heatpipe_core::replay::lane::{
    LANE_HEADER_KIND, LANE_MAGIC, Without, decode_header, without_sessions,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&how, rest)) = data.split_first() else {
        return;
    };
    match how % 3 {
        0 => object(rest),
        1 => {
            // `rest` as a header body, the bytes after it standing for the blocks.
            let split = rest.len().min(usize::from(how) * 4);
            let Ok(header) = frame_from_raw(LANE_HEADER_KIND, &rest[..split]) else {
                return;
            };
            let mut bytes = LANE_MAGIC.to_vec();
            bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&rest[split..]);
            object(&bytes);
        }
        _ => {
            if let Ok(framed) = frame_from_raw(REPLAY_INDEX_KIND, rest) {
                let _ = decode_index(&framed);
            }
        }
    }
});

fn object(bytes: &[u8]) {
    let Ok(header) = decode_header(bytes) else {
        return;
    };
    let Ok(sessions) = decode_object(bytes) else {
        return;
    };
    assert_eq!(sessions.len(), header.blocks.len());
    let Some(first) = sessions.first() else {
        return;
    };
    let erased = BTreeSet::from([first.session_id.clone()]);
    if let Ok(Without::Rewritten { bytes, .. }) = without_sessions(bytes, &erased) {
        let left = decode_object(&bytes).expect("a rewritten object decodes");
        assert!(left.iter().all(|s| s.session_id != first.session_id));
    }
}

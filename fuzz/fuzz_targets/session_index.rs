//! Arbitrary bytes as a session index body, framed with a valid preamble and checksum so that
//! mutations reach the decoders: the whole decode and the one-session-at-a-time reader may fail,
//! never panic, and agree on every index both accept.
#![no_main]

use heatpipe_core::frame::frame_from_raw;
use heatpipe_core::session::{SESSION_INDEX_KIND, SessionIndex};
use heatpipe_core::session_reader::SessionIndexReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(framed) = frame_from_raw(SESSION_INDEX_KIND, body) else {
        return;
    };
    let whole = SessionIndex::decode(&framed);
    let Ok(reader) = SessionIndexReader::open(&framed) else {
        assert!(
            whole.is_err(),
            "the reader refused an index the whole decode accepts"
        );
        return;
    };
    let chunks = reader.chunks().to_vec();
    let read: Result<Vec<_>, _> = reader.take(100_000).collect();
    if let Ok(whole) = whole {
        let read = read.expect("the reader failed on an index the whole decode accepts");
        assert_eq!(whole.chunks, chunks);
        assert_eq!(whole.sessions, read);
    }
});

//! Arbitrary bytes as rrweb batches of one session: each is parsed on its own as a collector
//! does, then the session is converted as the processor does, and the batches go through the
//! `.hpr` lane's encoding and back. Parsing may fail; nothing may panic.
#![no_main]

use heatpipe_core::rrweb::{RrwebEvent, convert_session, decode_lane, encode_lane, parse_batch};
use heatpipe_core::wire::WireLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = WireLimits::default();
    // Zero bytes split the input into batches, so that the conversion sees several, in the
    // order given (the processor sorts them by time).
    let batches: Vec<_> = data
        .split(|&b| b == 0)
        .filter_map(|part| serde_json::from_slice::<Vec<RrwebEvent>>(part).ok())
        .filter_map(|events| parse_batch("fuzz", &events, &limits).ok())
        .collect();
    let converted = convert_session("fuzz", &batches, limits.max_t_ms);
    let reversed: Vec<_> = batches.iter().rev().cloned().collect();
    assert_eq!(
        convert_session("fuzz", &reversed, limits.max_t_ms),
        converted
    );
    if let Ok(bytes) = encode_lane(&batches) {
        let _ = decode_lane(&bytes);
    }
});

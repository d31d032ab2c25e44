//! Arbitrary bytes as an rrweb batch masked as the collector masks it. The first line is a
//! public selector (its parse may fail, never panic); the rest is the batch's JSON. Masking must
//! never panic, must account for every event (kept or counted as dropped), and its output must
//! be a fixed point: masking it again changes nothing and reports nothing. The fixed point is
//! checked under rules that match on tags, ids and classes only, which the masking keeps
//! (a selector on a dropped attribute matches the first time only).
#![no_main]

use heatpipe_core::replay::{MaskReport, MaskRules, mask_batch};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (&data[..0], data),
    };
    let Ok(events) = serde_json::from_slice::<Vec<Value>>(body) else {
        return;
    };
    if let Ok(rules) = MaskRules::new(&[String::from_utf8_lossy(selector).into_owned()]) {
        let _ = mask_batch(events.clone(), &rules);
    }

    let rules = match MaskRules::new(&["section, .public, #shown".to_owned()]) {
        Ok(rules) => rules,
        Err(error) => panic!("fixed rules must parse: {error}"),
    };
    let received = events.len();
    let (kept, report) = mask_batch(events, &rules);
    assert_eq!(kept.len() + report.events_dropped, received);
    let (again, second) = mask_batch(kept.clone(), &rules);
    assert_eq!(second, MaskReport::default());
    assert_eq!(again, kept);
});

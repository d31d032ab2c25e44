//! Arbitrary bytes as two rrweb batches of one session: conversion may fail, never panic.
#![no_main]

use heatpipe_collector::rrweb::{RrwebEvent, RrwebSession};
use heatpipe_core::wire::WireLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut session = RrwebSession::default();
    let limits = WireLimits::default();
    // A second batch after a split point exercises the state carried between batches.
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    for part in [&data[..split], data.get(split + 1..).unwrap_or(&[])] {
        if let Ok(events) = serde_json::from_slice::<Vec<RrwebEvent>>(part) {
            let _ = session.convert("fuzz", &events, &limits);
        }
    }
});

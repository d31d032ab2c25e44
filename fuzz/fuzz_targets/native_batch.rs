//! Arbitrary bytes as a native batch body: parsing and validation may fail, never panic.
#![no_main]

use heatpipe_core::wire::{NativeBatch, WireLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = serde_json::from_slice::<NativeBatch>(data) {
        let _ = batch.into_stream(&WireLimits::default());
    }
});

//! Arbitrary bytes as a chunk: decoding may fail, never panic. Checksums stop most mutations at
//! the door, so the target also fixes up the header checksum (reaching the header decoder) and
//! feeds the bytes, split into columns, straight to the block's column decoder.
#![no_main]

use heatpipe_core::chunk::{PREAMBLE_LEN, SessionNames, block, decode_chunk, read};
use libfuzzer_sys::fuzz_target;

/// A block has this many columns: layouts 1, 2 and 3.
const LAYOUT_COLUMNS: [usize; 3] = [27, 30, 31];

fuzz_target!(|data: &[u8]| {
    let _ = decode_chunk(data);
    if data.len() >= PREAMBLE_LEN {
        let mut fixed = data.to_vec();
        // Every version: 1 stores the header plain, 2 and 3 compress it.
        let version = 1 + data[4] % 3;
        fixed[..6].copy_from_slice(&[b'H', b'P', b'C', b'K', version, 0]);
        let header_len = u32::from_le_bytes([fixed[6], fixed[7], fixed[8], fixed[9]]) as usize;
        let end = PREAMBLE_LEN.saturating_add(header_len).min(fixed.len());
        let crc = crc32fast::hash(&fixed[PREAMBLE_LEN..end]);
        fixed[10..14].copy_from_slice(&crc.to_le_bytes());
        let _ = decode_chunk(&fixed);
    }
    for num_columns in LAYOUT_COLUMNS {
        let columns: Vec<Vec<u8>> = data
            .split(|&b| b == 0xff)
            .map(<[u8]>::to_vec)
            .chain(std::iter::repeat(Vec::new()))
            .take(num_columns)
            .collect();
        let _ = read::decode_columns(&columns, SessionNames::Unknown);
    }
    let _ = block::decompress_columns(data, data.len() * 4);
});

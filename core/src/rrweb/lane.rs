//! The `.hpr` objects of the rrweb lane: the rrweb batches of one sealed log segment for one
//! site, date and hour, stored beside the segment's `.hpc` chunks under
//! `raw/{site}/{date}/{HH}/{collector_id}-{segment:016}.hpr`, and read by the processor, which
//! converts each session's batches together (see [`super::convert`]).
//!
//! A framed file (see [`crate::frame`]) whose body is the bincode of the batches, sorted by
//! session and first event time, so a day's objects merge session by session.

use super::RrwebBatch;
use crate::error::FormatError;
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};

/// The rrweb lane's frame kind.
pub const RRWEB_LANE_KIND: FrameKind = FrameKind {
    magic: *b"HPRW",
    version: 1,
    oldest_version: 1,
    name: "rrweb batches",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// Encodes `batches` as an `.hpr` object, sorted so that equal inputs give equal bytes.
pub fn encode_lane(batches: &[RrwebBatch]) -> Result<Vec<u8>, FormatError> {
    let mut sorted: Vec<&RrwebBatch> = batches.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.session_id, a.first_at_ms(), &a.events).cmp(&(
            &b.session_id,
            b.first_at_ms(),
            &b.events,
        ))
    });
    encode_frame(RRWEB_LANE_KIND, &sorted)
}

/// Decodes an `.hpr` object; any damage is an error, never a panic.
pub fn decode_lane(bytes: &[u8]) -> Result<Vec<RrwebBatch>, FormatError> {
    decode_frame(RRWEB_LANE_KIND, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rrweb::PointerEvent;

    fn batch(session: &str, at_ms: i64) -> RrwebBatch {
        RrwebBatch {
            session_id: session.into(),
            events: vec![PointerEvent::Move { at_ms, x: 1, y: 2 }],
        }
    }

    #[test]
    fn lanes_round_trip_sorted_and_refuse_damage() {
        let batches = [batch("b", 5), batch("a", 9), batch("a", 3)];
        let bytes = encode_lane(&batches).expect("encode");
        assert_eq!(
            decode_lane(&bytes).expect("decode"),
            [batch("a", 3), batch("a", 9), batch("b", 5)]
        );
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0x40;
        assert!(decode_lane(&damaged).is_err());
        assert!(decode_lane(&bytes[..bytes.len() / 2]).is_err());
    }
}

//! [`SessionHead::encode`] written out by hand: the processor encodes one head per session of
//! the day, and going through serde cost about 0.8 µs a head. The bytes are bincode's (standard
//! configuration: little endian, variable-length integers), which the session index is read
//! with; a test compares the two on arbitrary heads.

use super::{Frustration, PageViewHead, SessionHead};
use crate::event::DeviceClass;

/// bincode's variable-length integer markers: values up to 250 take one byte, larger ones a
/// marker and 2, 4 or 8 little-endian bytes.
const SINGLE_BYTE_MAX: u64 = 250;
const U16_MARKER: u8 = 251;
const U32_MARKER: u8 = 252;
const U64_MARKER: u8 = 253;

impl<S: AsRef<str>> SessionHead<'_, S> {
    /// Returns the head's bincode bytes.
    pub fn encode(&self) -> Vec<u8> {
        let strings: usize = self.id.len()
            + self
                .tags
                .iter()
                .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
                .sum::<usize>()
            + self
                .page_views
                .iter()
                .map(|v| v.url.len() + v.key.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(strings + 100 + 40 * self.page_views.len());
        put_str(&mut out, self.id);
        put_i64(&mut out, self.started_at_ms);
        put_u64(&mut out, self.duration_ms);
        put_u64(&mut out, self.active_ms);
        put_device(&mut out, self.device);
        put_u64(&mut out, self.num_clicks);
        put_u64(&mut out, self.num_moves);
        put_u64(&mut out, self.num_scrolls);
        put_u64(&mut out, self.tags.len() as u64);
        for (key, value) in self.tags {
            put_str(&mut out, key.as_ref());
            put_str(&mut out, value.as_ref());
        }
        // An `Option`: a 0 byte for None, a 1 byte and the value for Some.
        match self.visitor_key {
            None => out.push(0),
            Some(key) => {
                out.push(1);
                put_str(&mut out, key);
            }
        }
        put_frustration(&mut out, &self.frustration);
        put_u64(&mut out, self.page_views.len() as u64);
        for view in &self.page_views {
            put_view(&mut out, view);
        }
        out
    }
}

fn put_view(out: &mut Vec<u8>, view: &PageViewHead<'_>) {
    put_u64(out, u64::from(view.index));
    put_str(out, view.url);
    put_str(out, view.key);
    put_i64(out, view.started_at_ms);
    put_u64(out, view.duration_ms);
    put_u64(out, view.active_ms);
    put_u64(out, u64::from(view.max_depth_px));
    put_u64(out, u64::from(view.document_height_px));
    put_frustration(out, &view.frustration);
}

fn put_frustration(out: &mut Vec<u8>, frustration: &Frustration) {
    put_u64(out, frustration.rage_clicks);
    put_u64(out, frustration.dead_clicks);
    put_u64(out, frustration.excessive_scrolls);
    put_u64(out, frustration.quick_backs);
}

/// A unit variant: its index, as a `u32`.
fn put_device(out: &mut Vec<u8>, device: DeviceClass) {
    let index = match device {
        DeviceClass::Mobile => 0,
        DeviceClass::Tablet => 1,
        DeviceClass::Desktop => 2,
    };
    put_u64(out, index);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_u64(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Zig-zag, as bincode codes signed integers.
fn put_i64(out: &mut Vec<u8>, value: i64) {
    put_u64(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Unsigned integers of every width take the same bytes for the same value.
#[inline]
fn put_u64(out: &mut Vec<u8>, value: u64) {
    if value <= SINGLE_BYTE_MAX {
        out.push(value as u8);
    } else if let Ok(value) = u16::try_from(value) {
        out.push(U16_MARKER);
        out.extend_from_slice(&value.to_le_bytes());
    } else if let Ok(value) = u32::try_from(value) {
        out.push(U32_MARKER);
        out.extend_from_slice(&value.to_le_bytes());
    } else {
        out.push(U64_MARKER);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::bincode_config;
    use proptest::prelude::*;

    fn any_count() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..260,
            60_000u64..70_000,
            4_294_967_200u64..4_294_967_400,
            any::<u64>()
        ]
    }

    fn any_time() -> impl Strategy<Value = i64> {
        prop_oneof![-300i64..300, any::<i64>(), Just(i64::MIN), Just(i64::MAX)]
    }

    fn any_frustration() -> impl Strategy<Value = Frustration> {
        (any_count(), any_count(), any_count(), any_count()).prop_map(|(r, d, e, q)| Frustration {
            rage_clicks: r,
            dead_clicks: d,
            excessive_scrolls: e,
            quick_backs: q,
        })
    }

    type View = (
        u32,
        String,
        String,
        i64,
        (u64, u64),
        (u32, u32),
        Frustration,
    );

    fn any_view() -> impl Strategy<Value = View> {
        (
            prop_oneof![0u32..300, any::<u32>()],
            ".{0,40}",
            "[a-f0-9]{0,300}",
            any_time(),
            (any_count(), any_count()),
            (any::<u32>(), prop_oneof![0u32..300, any::<u32>()]),
            any_frustration(),
        )
    }

    proptest! {
        #[test]
        fn heads_encode_to_bincodes_bytes(
            id in ".{0,300}",
            started_at_ms in any_time(),
            counts in (any_count(), any_count(), any_count(), any_count(), any_count()),
            device in prop::sample::select(DeviceClass::ALL.to_vec()),
            tags in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..4),
            visitor_key in proptest::option::of("[0-9a-f]{32}"),
            frustration in any_frustration(),
            views in proptest::collection::vec(any_view(), 0..5),
        ) {
            let head = SessionHead {
                id: &id,
                started_at_ms,
                duration_ms: counts.0,
                active_ms: counts.4,
                device,
                num_clicks: counts.1,
                num_moves: counts.2,
                num_scrolls: counts.3,
                tags: &tags,
                visitor_key: visitor_key.as_deref(),
                frustration,
                page_views: views
                    .iter()
                    .map(|(index, url, key, started_at_ms, (duration_ms, active_ms), (depth, height), frustration)| PageViewHead {
                        index: *index,
                        url,
                        key,
                        started_at_ms: *started_at_ms,
                        duration_ms: *duration_ms,
                        active_ms: *active_ms,
                        max_depth_px: *depth,
                        document_height_px: *height,
                        frustration: *frustration,
                    })
                    .collect(),
            };
            let expected = bincode::serde::encode_to_vec(&head, bincode_config()).expect("bincode");
            prop_assert_eq!(head.encode(), expected);
        }
    }
}

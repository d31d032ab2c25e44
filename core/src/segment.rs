//! Segment keys: which visitors a slice of a page's aggregate describes.
//!
//! A page aggregate is stored per *combination* of dimensions, keyed canonically:
//!
//! ```text
//! device=desktop&width=1280&visitor=returning&variant=B&tier=pro
//! ```
//!
//! `device` and `width` (the layout width bucket) are always there; `visitor` (`new` or
//! `returning`, sent by the tracker) when known; then each tag key the site asked to segment by,
//! in the order configured, when the page view carried it. A question such as "variant B on
//! mobile" is answered by summing every stored segment that [`SegmentFilter::matches`], so any
//! combination of dimensions can be asked without storing the marginals separately.

use crate::event::DeviceClass;

/// Layout width buckets in CSS pixels: common responsive breakpoints. A viewport falls in the
/// widest bucket not wider than itself; pages are laid out alike within a bucket.
pub const LAYOUT_WIDTH_BUCKETS_PX: [u32; 8] = [320, 375, 414, 768, 1024, 1280, 1440, 1920];

/// The tag the tracker sets to tell first visits from returning visitors.
pub const VISITOR_TAG: &str = "visitor";

/// The buckets as segment keys spell them, written out so that a key is built without
/// formatting a number for every stream.
const LAYOUT_WIDTH_LABELS: [&str; 8] = ["320", "375", "414", "768", "1024", "1280", "1440", "1920"];

/// Returns the position in [`LAYOUT_WIDTH_BUCKETS_PX`] of the bucket of a viewport `width_px`
/// wide.
fn bucket_position(width_px: u32) -> usize {
    LAYOUT_WIDTH_BUCKETS_PX
        .iter()
        .rposition(|bucket| *bucket <= width_px)
        .unwrap_or(0)
}

/// Returns the layout width bucket of a viewport `width_px` wide.
pub fn layout_width_bucket(width_px: u32) -> u32 {
    LAYOUT_WIDTH_BUCKETS_PX[bucket_position(width_px)]
}

/// Returns the canonical segment key of a page view.
///
/// `tags` are the page view's tags (sorted by key); `segment_tags` the tag keys the site segments
/// by. Tags not asked for are left out, so they cannot multiply the stored segments.
pub fn segment_key<K: AsRef<str>, V: AsRef<str>>(
    device: DeviceClass,
    viewport_width_px: u32,
    tags: &[(K, V)],
    segment_tags: &[String],
) -> String {
    let mut key = String::new();
    write_segment_key(&mut key, device, viewport_width_px, tags, segment_tags);
    key
}

/// Writes the key [`segment_key`] returns into `key`, replacing what it held, so a caller can
/// reuse one buffer for every page view.
pub fn write_segment_key<K: AsRef<str>, V: AsRef<str>>(
    key: &mut String,
    device: DeviceClass,
    viewport_width_px: u32,
    tags: &[(K, V)],
    segment_tags: &[String],
) {
    key.clear();
    key.push_str("device=");
    key.push_str(device.as_str());
    key.push_str("&width=");
    key.push_str(LAYOUT_WIDTH_LABELS[bucket_position(viewport_width_px)]);
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    };
    let visitor = tag(VISITOR_TAG).filter(|v| *v == "new" || *v == "returning");
    if let Some(visitor) = visitor {
        key.push_str("&visitor=");
        key.push_str(visitor);
    }
    for name in segment_tags.iter().filter(|name| *name != VISITOR_TAG) {
        if let Some(value) = tag(name) {
            key.push('&');
            push_escaped(key, name);
            key.push('=');
            push_escaped(key, value);
        }
    }
}

/// Percent-escapes the characters that separate a key's parts.
fn push_escaped(out: &mut String, text: &str) {
    if !text.bytes().any(|byte| matches!(byte, b'&' | b'=' | b'%')) {
        out.push_str(text);
        return;
    }
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("%26"),
            '=' => out.push_str("%3D"),
            '%' => out.push_str("%25"),
            _ => out.push(ch),
        }
    }
}

/// Reverses [`push_escaped`], one escape at a time.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3);
        let decoded = match escape {
            Some("%26") => "&",
            Some("%3D") => "=",
            Some("%25") => "%",
            _ => {
                out.push('%');
                rest = &rest[at + 1..];
                continue;
            }
        };
        out.push_str(decoded);
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

/// Splits a segment key into its (dimension, value) pairs.
pub fn segment_parts(key: &str) -> Vec<(String, String)> {
    key.split('&')
        .filter_map(|part| part.split_once('='))
        .map(|(name, value)| (unescape(name), unescape(value)))
        .collect()
}

/// A set of required dimension values: a segment matches when it has every one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentFilter {
    pub required: Vec<(String, String)>,
}

impl SegmentFilter {
    /// Requires `dimension` to be `value` (e.g. `device`, `mobile`; `variant`, `B`).
    pub fn with(mut self, dimension: &str, value: &str) -> Self {
        self.required.push((dimension.to_owned(), value.to_owned()));
        self
    }

    /// Returns whether the segment stored under `key` belongs to the filter.
    pub fn matches(&self, key: &str) -> bool {
        if self.required.is_empty() {
            return true;
        }
        let parts = segment_parts(key);
        self.required
            .iter()
            .all(|required| parts.iter().any(|part| part == required))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn width_labels_spell_the_buckets() {
        for (bucket, label) in LAYOUT_WIDTH_BUCKETS_PX.iter().zip(LAYOUT_WIDTH_LABELS) {
            assert_eq!(bucket.to_string(), label);
        }
        for width in [0, 319, 320, 800, 1919, 1920, u32::MAX] {
            let key = segment_key::<&str, &str>(DeviceClass::Mobile, width, &[], &[]);
            assert_eq!(
                key,
                format!("device=mobile&width={}", layout_width_bucket(width))
            );
        }
    }

    #[test]
    fn width_buckets_take_the_widest_breakpoint_not_wider_than_the_viewport() {
        assert_eq!(layout_width_bucket(200), 320);
        assert_eq!(layout_width_bucket(390), 375);
        assert_eq!(layout_width_bucket(768), 768);
        assert_eq!(layout_width_bucket(1366), 1280);
        assert_eq!(layout_width_bucket(3840), 1920);
    }

    #[test]
    fn keys_hold_only_the_configured_tags_in_configured_order() {
        let page_tags = tags(&[
            ("tier", "pro"),
            ("utm_source", "x"),
            ("variant", "B"),
            ("visitor", "returning"),
        ]);
        let wanted = vec!["variant".to_owned(), "tier".to_owned()];
        let key = segment_key(DeviceClass::Mobile, 390, &page_tags, &wanted);
        assert_eq!(
            key,
            "device=mobile&width=375&visitor=returning&variant=B&tier=pro"
        );
        assert_eq!(
            segment_key::<&str, &str>(DeviceClass::Desktop, 1440, &[], &wanted),
            "device=desktop&width=1440"
        );
    }

    #[test]
    fn separators_inside_tag_values_are_escaped_and_still_match() {
        let page_tags = tags(&[("campaign", "a&b=c%")]);
        let key = segment_key(
            DeviceClass::Desktop,
            1280,
            &page_tags,
            &["campaign".to_owned()],
        );
        assert_eq!(key, "device=desktop&width=1280&campaign=a%26b%3Dc%25");
        assert!(
            SegmentFilter::default()
                .with("campaign", "a&b=c%")
                .matches(&key)
        );
        assert!(!SegmentFilter::default().with("campaign", "a").matches(&key));
    }

    #[test]
    fn filters_require_every_dimension() {
        let key = "device=mobile&width=375&visitor=new&variant=B";
        assert!(SegmentFilter::default().matches(key));
        assert!(
            SegmentFilter::default()
                .with("device", "mobile")
                .matches(key)
        );
        assert!(
            SegmentFilter::default()
                .with("device", "mobile")
                .with("variant", "B")
                .matches(key)
        );
        assert!(
            !SegmentFilter::default()
                .with("device", "mobile")
                .with("variant", "A")
                .matches(key)
        );
        assert!(!SegmentFilter::default().with("tier", "pro").matches(key));
    }
}

//! The event model: one page view's stream of pointer, scroll and resize events.
//!
//! Coordinates are CSS pixels in page (document) space; `t_ms` is milliseconds since the page
//! view started. Nothing typed by a visitor (keys, text, input values) has a place here.

use serde::{Deserialize, Serialize};

/// Viewport widths below this are phones.
pub const TABLET_MIN_WIDTH_PX: u32 = 768;
/// Viewport widths from this up are desktops.
pub const DESKTOP_MIN_WIDTH_PX: u32 = 1024;

/// The class of device a page view came from, decided by its viewport width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeviceClass {
    Mobile,
    Tablet,
    Desktop,
}

impl DeviceClass {
    /// Every class, in a stable order.
    pub const ALL: [DeviceClass; 3] = [
        DeviceClass::Mobile,
        DeviceClass::Tablet,
        DeviceClass::Desktop,
    ];

    /// Returns the class of a viewport `width_px` wide: mobile < 768 ≤ tablet < 1024 ≤ desktop.
    pub fn from_viewport_width(width_px: u32) -> Self {
        if width_px < TABLET_MIN_WIDTH_PX {
            DeviceClass::Mobile
        } else if width_px < DESKTOP_MIN_WIDTH_PX {
            DeviceClass::Tablet
        } else {
            DeviceClass::Desktop
        }
    }

    /// Returns the lowercase name used in URLs and segment keys.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Desktop => "desktop",
        }
    }

    /// Parses a lowercase name as written by [`DeviceClass::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|class| class.as_str() == name)
    }

    pub(crate) fn to_code(self) -> u64 {
        match self {
            DeviceClass::Mobile => 0,
            DeviceClass::Tablet => 1,
            DeviceClass::Desktop => 2,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(DeviceClass::Mobile),
            1 => Some(DeviceClass::Tablet),
            2 => Some(DeviceClass::Desktop),
            _ => None,
        }
    }
}

/// What is known of the page a stream was recorded on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    /// The page's normalized URL (see [`crate::page::normalize_url`]).
    pub url: String,
    pub viewport_width_px: u32,
    pub viewport_height_px: u32,
    /// The document's width; 0 when the recorder does not know it.
    pub document_width_px: u32,
    /// The document's height; 0 when the recorder does not know it (rrweb without our custom event).
    pub document_height_px: u32,
    pub device: DeviceClass,
    /// When the page view started, in Unix milliseconds (UTC).
    pub started_at_ms: i64,
    /// Segment tags set by the page (`variant=B`), sorted by key, keys unique.
    pub tags: Vec<(String, String)>,
    /// The keyed hash of the id the site passed to `heatpipe('identify', id)`, as 32 lowercase
    /// hex digits (see [`validate_visitor_key`]); the id itself is never stored.
    pub visitor_key: Option<String>,
}

/// Length of a [`PageView::visitor_key`]: 128 bits in hex.
pub const VISITOR_KEY_LEN: usize = 32;

/// Returns whether `key` is a visitor key as heatpipe writes it: 32 lowercase hex digits.
pub fn validate_visitor_key(key: &str) -> bool {
    key.len() == VISITOR_KEY_LEN && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The pointer moved to (`x`, `y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
}

/// Where inside the clicked element's box the click landed, each axis in 1/10000 of the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPoint {
    pub x_permyriad: u16,
    pub y_permyriad: u16,
}

/// Largest value of a [`TargetPoint`] axis: the far edge of the box.
pub const PERMYRIAD_MAX: u16 = 10_000;

/// What the page did in the second after a click, as the recorder saw it (no content is
/// captured: the tracker counts DOM mutations and compares the URL).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum ClickReaction {
    /// The recorder did not watch (an older tracker, rrweb without DOM recording).
    #[default]
    NotObserved,
    /// Neither the DOM nor the URL changed.
    Nothing,
    /// The DOM changed (a menu, a modal, a toast, a counter…).
    DomChanged,
    /// The URL changed or the page was left.
    Navigated,
}

impl ClickReaction {
    /// Every reaction, in code order.
    pub const ALL: [ClickReaction; 4] = [
        ClickReaction::NotObserved,
        ClickReaction::Nothing,
        ClickReaction::DomChanged,
        ClickReaction::Navigated,
    ];

    /// Returns the name used on the wire and in JSON: `""`, `none`, `dom`, `url`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClickReaction::NotObserved => "",
            ClickReaction::Nothing => "none",
            ClickReaction::DomChanged => "dom",
            ClickReaction::Navigated => "url",
        }
    }

    /// Parses a name written by [`ClickReaction::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|reaction| reaction.as_str() == name)
    }

    /// Returns whether the page visibly reacted: the DOM or the URL changed.
    pub fn reacted(self) -> bool {
        matches!(self, ClickReaction::DomChanged | ClickReaction::Navigated)
    }

    pub(crate) fn to_code(self) -> u64 {
        match self {
            ClickReaction::NotObserved => 0,
            ClickReaction::Nothing => 1,
            ClickReaction::DomChanged => 2,
            ClickReaction::Navigated => 3,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|reaction| reaction.to_code() == code)
    }
}

/// A click (or tap) at (`x`, `y`) on the element named by `selector`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Click {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
    /// A CSS selector of the target (`#buy`, `main > a.cta`); `rrweb:ID` for rrweb node ids.
    pub selector: String,
    /// Position inside the target's box, when the recorder knows it.
    pub inside: Option<TargetPoint>,
    /// What the page did in the second after the click.
    pub reaction: ClickReaction,
}

/// The window scrolled so that its top edge is at page `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scroll {
    pub t_ms: u32,
    pub y: i32,
}

/// The viewport was resized to `width_px` × `height_px`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resize {
    pub t_ms: u32,
    pub width_px: u32,
    pub height_px: u32,
}

/// One batch of events of one page view of one session: the unit the collector stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    pub session_id: String,
    /// The batch's sequence number within its session; a retried batch repeats it.
    pub batch_seq: u64,
    /// Which page view of the session this is, counting from 0.
    pub page_view_index: u32,
    pub page: PageView,
    pub moves: Vec<Move>,
    pub clicks: Vec<Click>,
    pub scrolls: Vec<Scroll>,
    pub resizes: Vec<Resize>,
}

impl Stream {
    /// Returns how many events the stream holds, of every kind.
    pub fn num_events(&self) -> usize {
        self.moves.len() + self.clicks.len() + self.scrolls.len() + self.resizes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_class_follows_the_breakpoints() {
        assert_eq!(DeviceClass::from_viewport_width(767), DeviceClass::Mobile);
        assert_eq!(DeviceClass::from_viewport_width(768), DeviceClass::Tablet);
        assert_eq!(DeviceClass::from_viewport_width(1023), DeviceClass::Tablet);
        assert_eq!(DeviceClass::from_viewport_width(1024), DeviceClass::Desktop);
        for class in DeviceClass::ALL {
            assert_eq!(DeviceClass::parse(class.as_str()), Some(class));
            assert_eq!(DeviceClass::from_code(class.to_code()), Some(class));
        }
    }

    #[test]
    fn reactions_round_trip_through_names_and_codes() {
        for reaction in ClickReaction::ALL {
            assert_eq!(ClickReaction::parse(reaction.as_str()), Some(reaction));
            assert_eq!(ClickReaction::from_code(reaction.to_code()), Some(reaction));
        }
        assert_eq!(ClickReaction::from_code(4), None);
        assert!(ClickReaction::DomChanged.reacted() && ClickReaction::Navigated.reacted());
        assert!(!ClickReaction::Nothing.reacted() && !ClickReaction::NotObserved.reacted());
    }

    #[test]
    fn visitor_keys_are_32_lowercase_hex_digits() {
        assert!(validate_visitor_key("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef",
            "g123456789abcdef0123456789abcdef",
        ] {
            assert!(!validate_visitor_key(bad), "{bad}");
        }
    }

    #[test]
    fn max_depth_uses_the_viewport_height_at_each_scroll() {
        let page = PageView {
            url: "https://a.example/".into(),
            viewport_width_px: 1280,
            viewport_height_px: 800,
            document_width_px: 1280,
            document_height_px: 4000,
            device: DeviceClass::Desktop,
            started_at_ms: 0,
            tags: vec![],
            visitor_key: None,
        };
        let mut stream = Stream {
            session_id: "s".into(),
            batch_seq: 0,
            page_view_index: 0,
            page,
            moves: vec![],
            clicks: vec![],
            scrolls: vec![],
            resizes: vec![],
        };
        assert_eq!(stream.max_depth_px(), 800);
        stream.scrolls = vec![Scroll { t_ms: 10, y: 1000 }, Scroll { t_ms: 30, y: 1100 }];
        stream.resizes = vec![Resize {
            t_ms: 20,
            width_px: 1280,
            height_px: 400,
        }];
        assert_eq!(stream.max_depth_px(), 1800);
    }
}

//! The collector's masking of one batch of rrweb events, whatever the client sent: an
//! allow-list, so anything not kept explicitly is dropped.
//!
//! Each kept event is built anew from the fields rrweb's replayer needs for it (`type`,
//! `timestamp` and a `data` of known keys); no unknown key is copied. What is kept:
//!
//! - 0 DomContentLoaded and 1 Load (with an empty `data`), 2 FullSnapshot (its tree masked,
//!   `nodes`), 4 Meta (`href` reduced to scheme, host and path, `attributes::reduce_url`).
//! - 3 IncrementalSnapshot of sources 0 Mutation (masked, `incremental`), 1 MouseMove,
//!   2 MouseInteraction, 3 Scroll, 4 ViewportResize, 6 TouchMove, 7 MediaInteraction,
//!   8 StyleSheetRule, 12 Drag, 13 StyleDeclaration and 15 AdoptedStyleSheet.
//! - 5 Custom with tag `heatpipe/page` or `heatpipe/page-view` and a payload of numbers.
//!
//! Everything else is dropped: Input (source 5: nothing typed, nor `isChecked`), CanvasMutation,
//! Font, Log, Selection, CustomElement, Plugin (6), unknown types and sources, and any event
//! that is malformed (not an object, no integer `type`, no numeric `timestamp`, a required field
//! missing).
//!
//! Whether text is public is known only from the tree seen in this batch (the FullSnapshot, or
//! an added subtree and its parent when that parent was seen earlier in the batch): anything
//! else is masked. Nothing is kept between batches, as the collector keeps nothing. The exact
//! allow-list, for site operators, is in docs/privacy.md.
//!
//! # Layout
//! - `nodes` — serialized nodes masked, and the batch's record of the nodes seen.
//! - `element` — what is known of an element seen: its tag's kind, SVG, public.
//! - `attributes` — the attribute allow-list and the reduction of `href` / `src` URLs.
//! - `incremental` — IncrementalSnapshot events by source, mutations masked.
//! - `text` — what a text may show, and the same-length mask.
//! - `fields` — copying fields by kind of value; dropping deep values without recursion.

mod attributes;
mod element;
mod fields;
mod incremental;
mod nodes;
mod text;

#[cfg(test)]
mod recorded_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::replay::selector::{ElementRef, SelectorError, SelectorList};
use nodes::Known;

const DOM_CONTENT_LOADED: u64 = 0;
const LOAD: u64 = 1;
const FULL_SNAPSHOT: u64 = 2;
const INCREMENTAL_SNAPSHOT: u64 = 3;
const META: u64 = 4;
const CUSTOM: u64 = 5;
/// Custom event tags kept, with their numbers-only payloads.
const CUSTOM_TAGS: [&str; 2] = ["heatpipe/page", "heatpipe/page-view"];
/// Longest payload key name kept in a custom event.
const MAX_PAYLOAD_KEY_CHARS: usize = 32;

/// What a site declares about its recordings (from its config): the elements whose text is
/// shown, with everything inside them. Everything else is masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaskRules {
    public: SelectorList,
}

impl MaskRules {
    /// `public`: selectors of elements whose text is shown (with everything inside them); each
    /// may be a comma list. Errors name the bad selector.
    pub fn new(public: &[String]) -> Result<MaskRules, SelectorError> {
        let mut list = SelectorList::default();
        for selector in public {
            list.extend(SelectorList::parse(selector)?);
        }
        Ok(MaskRules { public: list })
    }

    /// No public elements: every text is masked.
    pub fn mask_all() -> MaskRules {
        MaskRules::default()
    }

    /// Whether `element` itself matches a public selector.
    fn is_public(&self, element: ElementRef<'_>) -> bool {
        self.public.matches(element)
    }
}

/// What [`mask_batch`] masked or dropped in one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaskReport {
    /// Whole events not kept: a type or source not on the list, or malformed.
    pub events_dropped: usize,
    /// Texts changed: text nodes, comments, CDATA and mutation text values masked or emptied
    /// (a text the masking leaves as it was, such as whitespace, is not counted).
    pub texts_masked: usize,
    /// Attributes removed from elements and from attribute mutations (not on the list, not
    /// allowed on that element, a value of the wrong kind, or an `href`/`src` whose URL is
    /// not http(s)); form values are counted in `values_dropped` instead.
    pub attributes_dropped: usize,
    /// Form values removed: `value`, `checked` and `selected` attributes of elements and of
    /// attribute mutations.
    pub values_dropped: usize,
}

/// Masks one batch of rrweb events in place of what was sent: returns the events to keep, in
/// order, and a report of what was masked or dropped. Never panics, whatever the input.
pub fn mask_batch(events: Vec<Value>, rules: &MaskRules) -> (Vec<Value>, MaskReport) {
    let mut masker = Masker {
        rules,
        known: HashMap::new(),
        report: MaskReport::default(),
    };
    let mut kept = Vec::with_capacity(events.len());
    for event in events {
        match masker.event(&event) {
            Some(masked) => kept.push(masked),
            None => masker.report.events_dropped += 1,
        }
        fields::dispose(event);
    }
    (kept, masker.report)
}

/// The state of one batch's masking: the nodes seen so far and the counts.
struct Masker<'r> {
    rules: &'r MaskRules,
    /// Nodes seen in this batch, by rrweb node id: what their text (or children's) may show.
    known: HashMap<i64, Known>,
    report: MaskReport,
}

impl Masker<'_> {
    /// The kept form of one event, or `None` to drop it.
    fn event(&mut self, event: &Value) -> Option<Value> {
        let event = event.as_object()?;
        let kind = event.get("type")?.as_u64()?;
        let timestamp = event.get("timestamp").filter(|t| t.is_number())?.clone();
        let empty = Map::new();
        let data = match event.get("data") {
            Some(Value::Object(data)) => data,
            None if kind == DOM_CONTENT_LOADED || kind == LOAD => &empty,
            _ => return None,
        };
        let data = match kind {
            DOM_CONTENT_LOADED | LOAD => Map::new(),
            FULL_SNAPSHOT => self.full_snapshot(data)?,
            INCREMENTAL_SNAPSHOT => self.incremental(data)?,
            META => meta(data)?,
            CUSTOM => custom(data)?,
            _ => return None,
        };
        // Built by hand: `json!` would serialize `data` again, a deep copy of the whole tree.
        let mut kept = Map::new();
        kept.insert("type".into(), Value::from(kind));
        kept.insert("data".into(), Value::Object(data));
        kept.insert("timestamp".into(), timestamp);
        Some(Value::Object(kept))
    }

    /// `{node, initialOffset: {top, left}}`, the tree masked.
    fn full_snapshot(&mut self, data: &Map<String, Value>) -> Option<Map<String, Value>> {
        let node = self.node(data.get("node")?, None, 0)?;
        let mut offset = Map::new();
        if let Some(Value::Object(given)) = data.get("initialOffset") {
            fields::copy_numbers(given, &mut offset, &["top", "left"]);
        }
        for side in ["top", "left"] {
            offset.entry(side).or_insert(json!(0));
        }
        let mut kept = Map::new();
        kept.insert("node".into(), node);
        kept.insert("initialOffset".into(), Value::Object(offset));
        Some(kept)
    }
}

/// `{href, width, height}`: the viewport size and the page's URL reduced like an `href` (empty
/// when it is not http(s)).
fn meta(data: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut kept = Map::new();
    fields::require_numbers(data, &mut kept, &["width", "height"])?;
    let href = data
        .get("href")
        .and_then(Value::as_str)
        .and_then(attributes::reduce_url)
        .unwrap_or_default();
    kept.insert("href".into(), Value::String(href));
    Some(kept)
}

/// `{tag, payload}` for heatpipe's own tags, with a payload object of numbers under short
/// plain key names.
fn custom(data: &Map<String, Value>) -> Option<Map<String, Value>> {
    let tag = data.get("tag")?.as_str()?;
    if !CUSTOM_TAGS.contains(&tag) {
        return None;
    }
    let payload = data.get("payload")?.as_object()?;
    let plain_key = |key: &String| {
        !key.is_empty()
            && key.chars().count() <= MAX_PAYLOAD_KEY_CHARS
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !payload
        .iter()
        .all(|(key, value)| plain_key(key) && value.is_number())
    {
        return None;
    }
    let mut kept = Map::new();
    kept.insert("tag".into(), Value::String(tag.to_owned()));
    kept.insert("payload".into(), Value::Object(payload.clone()));
    Some(kept)
}

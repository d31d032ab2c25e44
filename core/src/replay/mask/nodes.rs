//! Serialized DOM nodes (a FullSnapshot's tree, a mutation's added subtrees) masked, and the
//! batch's record of the nodes seen, by which later text and attribute mutations are judged.
//!
//! A node is rebuilt from the fields rrweb's rebuild reads: `id` and `type` always; `rootId`,
//! `isShadowHost`, `isShadow` when given; then by type — Document `childNodes`, `compatMode`
//! (`BackCompat` or `CSS1Compat` only); DocumentType `name`, `publicId`, `systemId`; Element
//! `tagName` (a name of letters, digits, `-`, `_`, `:`, `.`, else `div`), `attributes`
//! (filtered), `childNodes`, `isSVG`, `needBlock`, `isCustom`; Text `textContent` (masked by
//! its place, [`TextKind`]), `isStyle`; CDATA and Comment an empty `textContent`. A node of any
//! other shape is dropped with its subtree. Trees deeper than [`MAX_NODE_DEPTH`] lose what lies
//! below it, so the walk's recursion is bounded whatever value was built.

use serde_json::{Map, Value};

use super::element::{ElementFacts, ElementKind};
use super::text::{self, TextKind};
use super::{Masker, attributes, fields};
use crate::replay::selector::ElementRef;

/// Deepest node kept, counting the FullSnapshot's document (or an added node) as 0. Real pages
/// stay far below, and serde_json's parser, by default, refuses JSON nested more than 128 levels
/// (some 60 DOM levels); the bound is for values built by hand.
pub(super) const MAX_NODE_DEPTH: usize = 256;
/// Longest tag name kept as it is.
const MAX_TAG_NAME_CHARS: usize = 64;

const DOCUMENT: u64 = 0;
const DOCUMENT_TYPE: u64 = 1;
const ELEMENT: u64 = 2;
const TEXT: u64 = 3;
const CDATA: u64 = 4;
const COMMENT: u64 = 5;

/// A node seen in this batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Known {
    /// An element or the document: its facts, which its children inherit.
    Element(ElementFacts),
    /// A text node: what its later text mutations may show.
    Text(TextKind),
}

impl Masker<'_> {
    /// The kept form of `node` under `parent` (`None` when the parent is not known), at
    /// `depth`; `None` drops the node with its subtree.
    pub(super) fn node(
        &mut self,
        node: &Value,
        parent: Option<ElementFacts>,
        depth: usize,
    ) -> Option<Value> {
        let node = node.as_object()?;
        let id = fields::node_id(node.get("id"))?;
        let mut kept = Map::new();
        kept.insert("id".into(), Value::from(id));
        fields::copy_numbers(node, &mut kept, &["rootId"]);
        fields::copy_bools(node, &mut kept, &["isShadowHost", "isShadow"]);
        let node_type = node.get("type")?.as_u64()?;
        kept.insert("type".into(), Value::from(node_type));
        match node_type {
            DOCUMENT => {
                let facts = parent.unwrap_or(ElementFacts::UNKNOWN);
                self.known.insert(id, Known::Element(facts));
                if let Some(mode) = node.get("compatMode").and_then(Value::as_str)
                    && matches!(mode, "BackCompat" | "CSS1Compat")
                {
                    kept.insert("compatMode".into(), Value::from(mode));
                }
                let children = self.children(node, facts, depth);
                kept.insert("childNodes".into(), children);
            }
            DOCUMENT_TYPE => {
                for key in ["name", "publicId", "systemId"] {
                    let value = node.get(key).and_then(Value::as_str).unwrap_or_default();
                    kept.insert(key.into(), Value::from(value));
                }
            }
            ELEMENT => self.element(node, id, parent, depth, &mut kept)?,
            TEXT => self.text_node(node, id, parent, &mut kept),
            CDATA | COMMENT => {
                let given = node.get("textContent").and_then(Value::as_str);
                if given.is_some_and(|text| !text.is_empty()) {
                    self.report.texts_masked += 1;
                }
                kept.insert("textContent".into(), Value::from(""));
            }
            _ => return None,
        }
        Some(Value::Object(kept))
    }

    fn element(
        &mut self,
        node: &Map<String, Value>,
        id: i64,
        parent: Option<ElementFacts>,
        depth: usize,
        kept: &mut Map<String, Value>,
    ) -> Option<()> {
        let tag = tag_name(node.get("tagName")?.as_str()?);
        let empty = Map::new();
        let given_attributes = match node.get("attributes") {
            Some(Value::Object(attributes)) => attributes,
            _ => &empty,
        };
        let is_svg = node.get("isSVG") == Some(&Value::Bool(true));
        let parent = parent.unwrap_or(ElementFacts::UNKNOWN);
        let element = ElementRef {
            tag: &tag,
            attributes: given_attributes,
        };
        let facts = ElementFacts {
            kind: element_kind(&tag),
            svg: is_svg || tag.eq_ignore_ascii_case("svg"),
            public: parent.public || self.rules.is_public(element),
        };
        self.known.insert(id, Known::Element(facts));
        let attributes = attributes::filter(given_attributes, facts, &mut self.report);
        kept.insert("tagName".into(), Value::String(tag));
        kept.insert("attributes".into(), Value::Object(attributes));
        fields::copy_bools(node, kept, &["isSVG", "needBlock", "isCustom"]);
        let children = self.children(node, facts, depth);
        kept.insert("childNodes".into(), children);
        Some(())
    }

    fn text_node(
        &mut self,
        node: &Map<String, Value>,
        id: i64,
        parent: Option<ElementFacts>,
        kept: &mut Map<String, Value>,
    ) {
        let is_style = node.get("isStyle") == Some(&Value::Bool(true));
        let kind = text_kind(parent, is_style);
        self.known.insert(id, Known::Text(kind));
        let given = node
            .get("textContent")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let shown = text::shown(kind, given);
        if shown != given {
            self.report.texts_masked += 1;
        }
        kept.insert("textContent".into(), Value::String(shown));
        if is_style {
            kept.insert("isStyle".into(), Value::Bool(true));
        }
    }

    /// The kept children of `node`, whose facts are `facts`; none below [`MAX_NODE_DEPTH`].
    fn children(&mut self, node: &Map<String, Value>, facts: ElementFacts, depth: usize) -> Value {
        let Some(Value::Array(children)) = node.get("childNodes") else {
            return Value::Array(Vec::new());
        };
        if depth >= MAX_NODE_DEPTH {
            return Value::Array(Vec::new());
        }
        let kept = children
            .iter()
            .filter_map(|child| self.node(child, Some(facts), depth + 1))
            .collect();
        Value::Array(kept)
    }
}

/// What a text under `parent` may show.
fn text_kind(parent: Option<ElementFacts>, is_style: bool) -> TextKind {
    match parent {
        Some(parent) if parent.kind == ElementKind::Script => TextKind::Script,
        Some(parent) if is_style && parent.kind == ElementKind::Style => TextKind::Css,
        Some(parent) if parent.public => TextKind::Public,
        _ => TextKind::Private,
    }
}

fn element_kind(tag: &str) -> ElementKind {
    if tag.eq_ignore_ascii_case("style") {
        ElementKind::Style
    } else if tag.eq_ignore_ascii_case("link") {
        ElementKind::Link
    } else if tag.eq_ignore_ascii_case("script") || tag.eq_ignore_ascii_case("noscript") {
        ElementKind::Script
    } else {
        ElementKind::Other
    }
}

/// The tag name kept: rrweb writes element names; anything else becomes `div`, as rrweb itself
/// does with names it cannot use, so no text travels in a tag name.
fn tag_name(given: &str) -> String {
    let mut chars = given.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        && given.len() <= MAX_TAG_NAME_CHARS;
    if plain {
        given.to_owned()
    } else {
        "div".to_owned()
    }
}

//! IncrementalSnapshot events (type 3) by source: mutations masked, pointer, scroll, media and
//! stylesheet events rebuilt from their known fields, every other source dropped.

use serde_json::{Map, Value};

use super::element::ElementFacts;
use super::nodes::Known;
use super::text::{self, TextKind};
use super::{Masker, attributes, fields};

const MUTATION: u64 = 0;
const MOUSE_MOVE: u64 = 1;
const MOUSE_INTERACTION: u64 = 2;
const SCROLL: u64 = 3;
const VIEWPORT_RESIZE: u64 = 4;
const TOUCH_MOVE: u64 = 6;
const MEDIA_INTERACTION: u64 = 7;
const STYLE_SHEET_RULE: u64 = 8;
const DRAG: u64 = 12;
const STYLE_DECLARATION: u64 = 13;
const ADOPTED_STYLE_SHEET: u64 = 15;

type Object = Map<String, Value>;

impl Masker<'_> {
    /// The kept `data` of an IncrementalSnapshot, or `None` to drop the event.
    pub(super) fn incremental(&mut self, data: &Object) -> Option<Object> {
        let source = data.get("source")?.as_u64()?;
        let mut kept = Object::new();
        match source {
            MUTATION => self.mutation(data, &mut kept),
            MOUSE_MOVE | TOUCH_MOVE | DRAG => {
                let positions = data.get("positions")?.as_array()?;
                let positions = positions.iter().filter_map(position).collect();
                kept.insert("positions".into(), Value::Array(positions));
            }
            MOUSE_INTERACTION => {
                fields::require_numbers(data, &mut kept, &["type", "id"])?;
                fields::copy_numbers(data, &mut kept, &["x", "y", "pointerType"]);
            }
            SCROLL => fields::require_numbers(data, &mut kept, &["id", "x", "y"])?,
            VIEWPORT_RESIZE => fields::require_numbers(data, &mut kept, &["width", "height"])?,
            MEDIA_INTERACTION => {
                fields::require_numbers(data, &mut kept, &["type", "id"])?;
                let numbers = ["currentTime", "volume", "playbackRate"];
                fields::copy_numbers(data, &mut kept, &numbers);
                fields::copy_bools(data, &mut kept, &["muted", "loop"]);
            }
            STYLE_SHEET_RULE => style_sheet_rule(data, &mut kept),
            STYLE_DECLARATION => style_declaration(data, &mut kept),
            ADOPTED_STYLE_SHEET => adopted_style_sheet(data, &mut kept)?,
            _ => return None,
        }
        kept.insert("source".into(), Value::from(source));
        Some(kept)
    }

    /// `{texts, attributes, removes, adds, isAttachIframe?}`. Adds are read first, so that the
    /// texts and attributes of nodes added by the same mutation are judged by their place.
    fn mutation(&mut self, data: &Object, kept: &mut Object) {
        let removes = list(data, "removes").filter_map(|remove| {
            let remove = remove.as_object()?;
            let mut entry = Object::new();
            fields::require_numbers(remove, &mut entry, &["parentId", "id"])?;
            fields::copy_bools(remove, &mut entry, &["isShadow"]);
            Some(Value::Object(entry))
        });
        let removes = removes.collect();
        let adds = list(data, "adds")
            .filter_map(|add| self.add(add.as_object()?))
            .collect();
        let texts = list(data, "texts")
            .filter_map(|change| self.text_change(change.as_object()?))
            .collect();
        let attributes = list(data, "attributes")
            .filter_map(|change| self.attribute_change(change.as_object()?))
            .collect();
        kept.insert("texts".into(), Value::Array(texts));
        kept.insert("attributes".into(), Value::Array(attributes));
        kept.insert("removes".into(), Value::Array(removes));
        kept.insert("adds".into(), Value::Array(adds));
        fields::copy_bools(data, kept, &["isAttachIframe"]);
    }

    /// `{parentId, nextId, previousId?, node}`, the node masked under its parent when the
    /// parent was seen in this batch.
    fn add(&mut self, add: &Object) -> Option<Value> {
        let parent_id = fields::node_id(add.get("parentId"))?;
        let parent = match self.known.get(&parent_id) {
            Some(Known::Element(facts)) => Some(*facts),
            _ => None,
        };
        let node = self.node(add.get("node")?, parent, 0)?;
        let mut entry = Object::new();
        entry.insert("parentId".into(), Value::from(parent_id));
        let next = add.get("nextId").filter(|id| id.is_i64());
        entry.insert("nextId".into(), next.cloned().unwrap_or(Value::Null));
        if let Some(previous) = add
            .get("previousId")
            .filter(|id| id.is_i64() || id.is_null())
        {
            entry.insert("previousId".into(), previous.clone());
        }
        entry.insert("node".into(), node);
        Some(Value::Object(entry))
    }

    /// `{id, value}`: the new text masked unless the node is known to be public or CSS.
    fn text_change(&mut self, change: &Object) -> Option<Value> {
        let id = fields::node_id(change.get("id"))?;
        let value = match change.get("value")? {
            Value::Null => Value::Null,
            Value::String(given) => {
                let kind = match self.known.get(&id) {
                    Some(Known::Text(kind)) => *kind,
                    _ => TextKind::Private,
                };
                let shown = text::shown(kind, given);
                if &shown != given {
                    self.report.texts_masked += 1;
                }
                Value::String(shown)
            }
            _ => return None,
        };
        let mut entry = Object::new();
        entry.insert("id".into(), Value::from(id));
        entry.insert("value".into(), value);
        Some(Value::Object(entry))
    }

    /// `{id, attributes}` filtered by the allow-list for that element (as an unknown element
    /// when it was not seen in this batch); `None` when nothing is left.
    fn attribute_change(&mut self, change: &Object) -> Option<Value> {
        let id = fields::node_id(change.get("id"))?;
        let given = change.get("attributes")?.as_object()?;
        let facts = match self.known.get(&id) {
            Some(Known::Element(facts)) => *facts,
            _ => ElementFacts::UNKNOWN,
        };
        let filtered = attributes::filter(given, facts, &mut self.report);
        if filtered.is_empty() {
            return None;
        }
        let mut entry = Object::new();
        entry.insert("id".into(), Value::from(id));
        entry.insert("attributes".into(), Value::Object(filtered));
        Some(Value::Object(entry))
    }
}

/// The items of the array at `key`, or none.
fn list<'a>(data: &'a Object, key: &str) -> impl Iterator<Item = &'a Value> {
    data.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
}

/// `{x, y, id, timeOffset}` of a mouse, touch or drag position.
fn position(position: &Value) -> Option<Value> {
    let mut kept = Object::new();
    fields::require_numbers(
        position.as_object()?,
        &mut kept,
        &["x", "y", "id", "timeOffset"],
    )?;
    Some(Value::Object(kept))
}

/// A rule index: a number, or a path of numbers into nested rules.
fn index(value: &Value) -> Option<Value> {
    if value.is_number() {
        Some(value.clone())
    } else {
        fields::numbers(value)
    }
}

/// `{rule, index?}` of an added CSS rule.
fn rule(rule: &Value) -> Option<Value> {
    let rule = rule.as_object()?;
    let mut kept = Object::new();
    kept.insert("rule".into(), Value::from(rule.get("rule")?.as_str()?));
    if let Some(index) = rule.get("index").and_then(index) {
        kept.insert("index".into(), index);
    }
    Some(Value::Object(kept))
}

/// `{id?, styleId?, adds?, removes?, replace?, replaceSync?}`: CSS is kept as it is.
fn style_sheet_rule(data: &Object, kept: &mut Object) {
    fields::copy_numbers(data, kept, &["id", "styleId"]);
    if data.get("adds").is_some_and(Value::is_array) {
        let adds = list(data, "adds").filter_map(rule).collect();
        kept.insert("adds".into(), Value::Array(adds));
    }
    if data.get("removes").is_some_and(Value::is_array) {
        let removes = list(data, "removes").filter_map(|remove| {
            let index = index(remove.as_object()?.get("index")?)?;
            let mut entry = Object::new();
            entry.insert("index".into(), index);
            Some(Value::Object(entry))
        });
        kept.insert("removes".into(), Value::Array(removes.collect()));
    }
    for key in ["replace", "replaceSync"] {
        if let Some(css) = data.get(key).filter(|css| css.is_string()) {
            kept.insert(key.into(), css.clone());
        }
    }
}

/// `{id?, styleId?, index, set?: {property, value, priority?}, remove?: {property}}`.
fn style_declaration(data: &Object, kept: &mut Object) {
    fields::copy_numbers(data, kept, &["id", "styleId"]);
    let index = data.get("index").and_then(fields::numbers);
    kept.insert("index".into(), index.unwrap_or(Value::Array(Vec::new())));
    if let Some(set) = data.get("set").and_then(Value::as_object)
        && let Some(property) = set.get("property").filter(|p| p.is_string())
    {
        let mut entry = Object::new();
        entry.insert("property".into(), property.clone());
        let value = set.get("value").filter(|v| v.is_string() || v.is_null());
        entry.insert("value".into(), value.cloned().unwrap_or(Value::Null));
        if let Some(priority) = set.get("priority").filter(|p| p.is_string()) {
            entry.insert("priority".into(), priority.clone());
        }
        kept.insert("set".into(), Value::Object(entry));
    }
    if let Some(remove) = data.get("remove").and_then(Value::as_object)
        && let Some(property) = remove.get("property").filter(|p| p.is_string())
    {
        let mut entry = Object::new();
        entry.insert("property".into(), property.clone());
        kept.insert("remove".into(), Value::Object(entry));
    }
}

/// `{id, styleIds, styles?: [{styleId, rules: [{rule, index?}]}]}`.
fn adopted_style_sheet(data: &Object, kept: &mut Object) -> Option<()> {
    fields::require_numbers(data, kept, &["id"])?;
    kept.insert("styleIds".into(), fields::numbers(data.get("styleIds")?)?);
    if data.get("styles").is_some_and(Value::is_array) {
        let styles = list(data, "styles").filter_map(|style| {
            let style = style.as_object()?;
            let mut entry = Object::new();
            fields::require_numbers(style, &mut entry, &["styleId"])?;
            let rules = list(style, "rules").filter_map(rule).collect();
            entry.insert("rules".into(), Value::Array(rules));
            Some(Value::Object(entry))
        });
        kept.insert("styles".into(), Value::Array(styles.collect()));
    }
    Some(())
}

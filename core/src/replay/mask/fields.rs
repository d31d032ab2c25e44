//! Small helpers to build kept objects from the fields of a received one, by kind of value,
//! and to drop a received value of any depth without recursion.

use serde_json::{Map, Value};

/// Copies each of `keys` present in `from` as a number.
pub(super) fn copy_numbers(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key).filter(|v| v.is_number()) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

/// Copies each of `keys` present in `from` as a boolean.
pub(super) fn copy_bools(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key).filter(|v| v.is_boolean()) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

/// Copies `keys`, every one of which must be a number in `from`; `None` if one is not.
pub(super) fn require_numbers(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
    keys: &[&str],
) -> Option<()> {
    for key in keys {
        let value = from.get(*key).filter(|v| v.is_number())?;
        to.insert((*key).to_owned(), value.clone());
    }
    Some(())
}

/// A node id as rrweb writes it: an integer.
pub(super) fn node_id(value: Option<&Value>) -> Option<i64> {
    value?.as_i64()
}

/// A list of numbers (`index` paths, `styleIds`); `None` if any item is not a number.
pub(super) fn numbers(value: &Value) -> Option<Value> {
    let items = value.as_array()?;
    items.iter().all(Value::is_number).then(|| value.clone())
}

/// Drops `value` without recursing: serde_json's own drop recurses once per level, which a
/// hand-built value 100,000 levels deep would turn into a stack overflow.
pub(super) fn dispose(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => items.into_iter().for_each(|v| defer(v, &mut pending)),
            Value::Object(map) => map.into_iter().for_each(|(_, v)| defer(v, &mut pending)),
            _ => {}
        }
    }
}

/// Puts a non-empty container on `pending`; drops anything else at once (a fifth less time
/// for the whole masking of a large snapshot than stacking every scalar).
fn defer(value: Value, pending: &mut Vec<Value>) {
    match &value {
        Value::Array(items) if !items.is_empty() => pending.push(value),
        Value::Object(map) if !map.is_empty() => pending.push(value),
        _ => {}
    }
}

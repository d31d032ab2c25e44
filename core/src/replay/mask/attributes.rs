//! The attribute allow-list, for serialized elements and attribute mutations alike, and the
//! reduction of `href` / `src` URLs.
//!
//! Kept on any element: `class`, `id`, `style`, `rel`, `type`, `width`, `height`, `href` and
//! `src` (reduced by [`reduce_url`]), and rrweb's placeholder sizes `rr_width`, `rr_height`.
//! Kept on `<link>` and `<style>` only: rrweb's `_cssText` (an inlined stylesheet). Kept on SVG
//! elements only (they draw shapes and carry no text): `viewBox`, `d`, `fill`, `stroke`,
//! `points`, `transform`, `x`, `y`, `cx`, `cy`, `r`. Everything else is dropped, form values
//! (`value`, `checked`, `selected`) counted apart from the rest.

use serde_json::{Map, Value};
use url::Url;

use super::MaskReport;
use super::element::{ElementFacts, ElementKind};

/// Attributes kept on any element, with a string, number, `true` or `null` value.
const PLAIN: [&str; 8] = [
    "class",
    "id",
    "rel",
    "type",
    "width",
    "height",
    "rr_width",
    "rr_height",
];
/// Attributes kept on SVG elements only.
const SVG_GEOMETRY: [&str; 12] = [
    "viewBox",
    "viewbox",
    "d",
    "fill",
    "stroke",
    "points",
    "transform",
    "x",
    "y",
    "cx",
    "cy",
    "r",
];
/// Form state: what a visitor chose or typed.
const FORM_VALUES: [&str; 3] = ["value", "checked", "selected"];

/// What becomes of one attribute.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Keep(Value),
    Drop,
    DropFormValue,
}

/// The attributes of `element` that are kept, counting the others in `report`.
pub(super) fn filter(
    attributes: &Map<String, Value>,
    element: ElementFacts,
    report: &mut MaskReport,
) -> Map<String, Value> {
    let mut kept = Map::new();
    for (name, value) in attributes {
        match verdict(name, value, element) {
            Verdict::Keep(value) => {
                kept.insert(name.clone(), value);
            }
            Verdict::Drop => report.attributes_dropped += 1,
            Verdict::DropFormValue => report.values_dropped += 1,
        }
    }
    kept
}

fn verdict(name: &str, value: &Value, element: ElementFacts) -> Verdict {
    match name {
        "href" | "src" => match value {
            Value::String(url) => {
                reduce_url(url).map_or(Verdict::Drop, |url| Verdict::Keep(Value::String(url)))
            }
            Value::Null => Verdict::Keep(Value::Null),
            _ => Verdict::Drop,
        },
        "_cssText" if matches!(element.kind, ElementKind::Style | ElementKind::Link) => match value
        {
            Value::String(_) | Value::Null => Verdict::Keep(value.clone()),
            _ => Verdict::Drop,
        },
        "style" => style(value),
        _ if PLAIN.contains(&name) || (element.svg && SVG_GEOMETRY.contains(&name)) => {
            match value {
                Value::String(_) | Value::Number(_) | Value::Bool(true) | Value::Null => {
                    Verdict::Keep(value.clone())
                }
                _ => Verdict::Drop,
            }
        }
        _ if FORM_VALUES.contains(&name) => Verdict::DropFormValue,
        _ => Verdict::Drop,
    }
}

/// A `style` value: a string, `null` (removed), or in a mutation rrweb's object of changed
/// properties, each a value, a `[value, priority]` pair, or `false` (removed).
fn style(value: &Value) -> Verdict {
    let property_ok = |property: &Value| match property {
        Value::String(_) | Value::Bool(false) => true,
        Value::Array(pair) => pair.len() == 2 && pair.iter().all(Value::is_string),
        _ => false,
    };
    match value {
        Value::String(_) | Value::Null => Verdict::Keep(value.clone()),
        Value::Object(properties) if properties.values().all(property_ok) => {
            Verdict::Keep(value.clone())
        }
        _ => Verdict::Drop,
    }
}

/// An `href` / `src` (or Meta `href`) as kept: an http(s) URL reduced to scheme, host, port and
/// path (no user, query or fragment); a relative URL reduced to its path; `None` for any other
/// scheme (`javascript:`, `data:`, `blob:`, `mailto:` …) and for what cannot be read as a URL.
pub(super) fn reduce_url(raw: &str) -> Option<String> {
    // Browsers ignore tabs and newlines anywhere in a URL, and spaces and controls around it:
    // `java\nscript:` is `javascript:`.
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c <= ' ');
    match Url::parse(cleaned) {
        Ok(url) => {
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let host = url.host_str()?;
            let port = url
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default();
            Some(format!("{}://{host}{port}{}", url.scheme(), url.path()))
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // Trimmed again: `"a  ?q"` would keep trailing spaces the next reading drops.
            let end = cleaned.find(['?', '#']).unwrap_or(cleaned.len());
            Some(
                cleaned[..end]
                    .trim_end_matches(|c: char| c <= ' ')
                    .to_owned(),
            )
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(kind: ElementKind, svg: bool) -> ElementFacts {
        ElementFacts {
            kind,
            svg,
            public: false,
        }
    }

    #[test]
    fn urls_keep_scheme_host_and_path_only() {
        let cases = [
            (
                "https://shop.example/a/b?email=jane%40x.com#top",
                Some("https://shop.example/a/b"),
            ),
            (
                "http://user:pw@127.0.0.1:8080/p?q",
                Some("http://127.0.0.1:8080/p"),
            ),
            ("HTTPS://Shop.Example", Some("https://shop.example/")),
            ("/cart?token=abc", Some("/cart")),
            ("img/x.png#frag", Some("img/x.png")),
            ("//cdn.example/x.js?v=1", Some("//cdn.example/x.js")),
            ("?q=secret", Some("")),
            ("remov   ?q=1", Some("remov")),
            ("javascript:alert(1)", None),
            (" java\nscript:alert(1)", None),
            ("data:text/html,secret", None),
            ("blob:https://shop.example/1234", None),
            ("mailto:jane@x.com", None),
            ("http://[::1", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(reduce_url(raw).as_deref(), expected, "{raw}");
        }
    }

    #[test]
    fn allow_list_depends_on_the_element() {
        let svg = facts(ElementKind::Other, true);
        let div = facts(ElementKind::Other, false);
        let style = facts(ElementKind::Style, false);
        let mut report = MaskReport::default();
        let attributes = json!({
            "class": "a", "d": "M0 0L1 1", "_cssText": "a{}", "value": "secret",
            "checked": true, "data-email": "jane@x.com", "onclick": "f()", "width": 3,
            "title": "Jane", "style": {"color": ["red", "important"], "margin": false},
        });
        let attributes = attributes.as_object().expect("object");
        let on_svg = filter(attributes, svg, &mut report);
        assert_eq!(
            Value::Object(on_svg),
            json!({"class": "a", "d": "M0 0L1 1", "width": 3,
                   "style": {"color": ["red", "important"], "margin": false}})
        );
        let on_div = filter(attributes, div, &mut report);
        assert_eq!(on_div.len(), 3);
        let on_style = filter(attributes, style, &mut report);
        assert_eq!(on_style.get("_cssText"), Some(&json!("a{}")));
        // svg: _cssText, data-email, onclick, title; div: also d; style: d.
        assert_eq!(report.attributes_dropped, 4 + 5 + 4);
        assert_eq!(report.values_dropped, 2 * 3);
    }

    #[test]
    fn bad_values_are_dropped() {
        let mut report = MaskReport::default();
        let attributes = json!({"class": ["a"], "id": false, "href": 3, "src": null,
                                "style": {"color": 1}});
        let kept = filter(
            attributes.as_object().expect("object"),
            facts(ElementKind::Other, false),
            &mut report,
        );
        assert_eq!(Value::Object(kept), json!({"src": null}));
        assert_eq!(report.attributes_dropped, 4);
    }
}

//! The small CSS selector matcher behind a site's public elements: compound simple selectors
//! — a tag (or `*`), `#id`, `.class`, `[attr]` and `[attr=value]` (the value bare or quoted),
//! combined as in `div.public#intro[data-kind=faq]` — and comma lists of them.
//!
//! A selector is matched against one serialized rrweb element (its tag name and recorded
//! attributes); the masking walks the tree and treats everything inside a matching element as
//! public, so `.public` means "the element and everything inside it". Combinators (descendant
//! `a b`, `>`, `+`, `~`), pseudo-classes, other attribute operators and escapes are refused with
//! a [`SelectorError`] rather than half-understood: a selector that silently matched more than
//! the site meant would show text it wanted masked.
//!
//! Tag names match ASCII case-insensitively. Attribute names in a selector are lowercased and
//! match recorded names exactly (rrweb records them lowercase; the masking drops a name in any
//! other case, so it must not make an element public either). Ids, classes and attribute values
//! match exactly.

use serde_json::{Map, Value};

/// Why a selector a site declared public could not be read; it names the selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad public selector {selector:?}: {problem}")]
pub struct SelectorError {
    /// The selector (or comma list) as the site wrote it.
    pub selector: String,
    /// What is wrong with it.
    pub problem: SelectorProblem,
}

/// What is wrong with a selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorProblem {
    /// Nothing to match: an empty string, or an empty item of a comma list.
    #[error("a selector of the list is empty")]
    Empty,
    /// `a b`, `a > b`, `a + b` or `a ~ b`.
    #[error(
        "combinators (descendant, `>`, `+`, `~`) are not supported: name the public element itself"
    )]
    Combinator,
    /// A character this matcher does not understand (a pseudo-class, an escape, an operator).
    #[error("unexpected {found:?} at byte {at}")]
    Unexpected { found: char, at: usize },
    /// `#`, `.` or `[` not followed by a name.
    #[error("a name is missing at byte {at}")]
    MissingName { at: usize },
    /// `[attr` or `[attr=value` without its `]`.
    #[error("an attribute selector is not closed with `]`")]
    UnclosedAttribute,
    /// `[attr="value` without its closing quote.
    #[error("a quoted attribute value is not closed")]
    UnclosedQuote,
}

/// One compound selector: every part must match the same element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Compound {
    /// Lowercase tag name; `None` for any element (no tag, or `*`).
    tag: Option<String>,
    ids: Vec<String>,
    classes: Vec<String>,
    /// Lowercase attribute name, and the exact value when one is required.
    attributes: Vec<(String, Option<String>)>,
}

/// A list of compound selectors; an element matches when any of them matches it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorList {
    compounds: Vec<Compound>,
}

/// An element as rrweb serialized it: its tag name and its recorded attributes.
#[derive(Debug, Clone, Copy)]
pub struct ElementRef<'a> {
    pub tag: &'a str,
    pub attributes: &'a Map<String, Value>,
}

impl SelectorList {
    /// Reads one selector or comma list of selectors.
    pub fn parse(text: &str) -> Result<SelectorList, SelectorError> {
        Parser { text, at: 0 }
            .list()
            .map(|compounds| SelectorList { compounds })
            .map_err(|problem| SelectorError {
                selector: text.to_owned(),
                problem,
            })
    }

    /// Adds the selectors of `other` to this list.
    pub fn extend(&mut self, other: SelectorList) {
        self.compounds.extend(other.compounds);
    }

    /// Whether the list has no selector (so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.compounds.is_empty()
    }

    /// Whether any selector of the list matches `element` itself (not its ancestors).
    pub fn matches(&self, element: ElementRef<'_>) -> bool {
        self.compounds
            .iter()
            .any(|compound| compound.matches(element))
    }
}

impl Compound {
    fn matches(&self, element: ElementRef<'_>) -> bool {
        if let Some(tag) = &self.tag
            && !tag.eq_ignore_ascii_case(element.tag)
        {
            return false;
        }
        let id = attribute(element.attributes, "id").and_then(Value::as_str);
        if !self.ids.iter().all(|wanted| id == Some(wanted.as_str())) {
            return false;
        }
        let classes = attribute(element.attributes, "class").and_then(Value::as_str);
        let has_class = |wanted: &String| {
            classes.is_some_and(|list| list.split_ascii_whitespace().any(|c| c == wanted))
        };
        if !self.classes.iter().all(has_class) {
            return false;
        }
        self.attributes.iter().all(|(name, wanted)| {
            match (attribute(element.attributes, name), wanted) {
                (None | Some(Value::Null), _) => false,
                (Some(_), None) => true,
                (Some(value), Some(wanted)) => attribute_text_is(value, wanted),
            }
        })
    }
}

/// The attribute named `name` exactly: rrweb records names lowercase, and a name in another
/// case is one the masking drops, so it must not make an element public either.
fn attribute<'a>(attributes: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    attributes.get(name)
}

/// Whether a recorded attribute value (rrweb records strings, numbers and `true` for a present
/// boolean attribute) reads as `wanted`.
fn attribute_text_is(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(text) => text == wanted,
        Value::Number(number) => number.to_string() == wanted,
        Value::Bool(true) => wanted.is_empty(),
        _ => false,
    }
}

/// A cursor over the selector text; `at` is a byte offset on a char boundary.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let next = self.peek()?;
        self.at += next.len_utf8();
        Some(next)
    }

    /// Skips whitespace and says whether there was any.
    fn skip_whitespace(&mut self) -> bool {
        let start = self.at;
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        self.at > start
    }

    fn list(&mut self) -> Result<Vec<Compound>, SelectorProblem> {
        let mut compounds = Vec::new();
        loop {
            self.skip_whitespace();
            compounds.push(self.compound()?);
            let spaced = self.skip_whitespace();
            match self.peek() {
                None => return Ok(compounds),
                Some(',') => {
                    self.bump();
                }
                Some('>' | '+' | '~') => return Err(SelectorProblem::Combinator),
                Some(next) if spaced && starts_compound(next) => {
                    return Err(SelectorProblem::Combinator);
                }
                Some(found) => return Err(self.unexpected(found)),
            }
        }
    }

    fn compound(&mut self) -> Result<Compound, SelectorProblem> {
        let mut compound = Compound::default();
        let start = self.at;
        match self.peek() {
            Some('*') => {
                self.bump();
            }
            Some(next) if is_name_char(next) => {
                compound.tag = Some(self.name()?.to_ascii_lowercase());
            }
            _ => {}
        }
        loop {
            match self.peek() {
                Some('#') => {
                    self.bump();
                    compound.ids.push(self.name()?);
                }
                Some('.') => {
                    self.bump();
                    compound.classes.push(self.name()?);
                }
                Some('[') => {
                    self.bump();
                    compound.attributes.push(self.attribute()?);
                }
                _ => break,
            }
        }
        if self.at == start {
            return match self.peek() {
                None | Some(',') => Err(SelectorProblem::Empty),
                Some('>' | '+' | '~') => Err(SelectorProblem::Combinator),
                Some(found) => Err(self.unexpected(found)),
            };
        }
        Ok(compound)
    }

    /// `[` has been read: `name]` or `name=value]`, with optional whitespace inside.
    fn attribute(&mut self) -> Result<(String, Option<String>), SelectorProblem> {
        self.skip_whitespace();
        let name = self.name()?.to_ascii_lowercase();
        self.skip_whitespace();
        let value = match self.peek() {
            Some(']') => None,
            Some('=') => {
                self.bump();
                self.skip_whitespace();
                let value = match self.peek() {
                    Some(quote @ ('"' | '\'')) => {
                        self.bump();
                        self.quoted(quote)?
                    }
                    _ => self.name()?,
                };
                self.skip_whitespace();
                Some(value)
            }
            Some(found) => return Err(self.unexpected(found)),
            None => return Err(SelectorProblem::UnclosedAttribute),
        };
        match self.bump() {
            Some(']') => Ok((name, value)),
            Some(found) => Err(SelectorProblem::Unexpected {
                found,
                at: self.at - found.len_utf8(),
            }),
            None => Err(SelectorProblem::UnclosedAttribute),
        }
    }

    /// The opening quote has been read: everything up to the closing one.
    fn quoted(&mut self, quote: char) -> Result<String, SelectorProblem> {
        let start = self.at;
        while let Some(next) = self.bump() {
            if next == quote {
                return Ok(self.text[start..self.at - quote.len_utf8()].to_owned());
            }
            if next == '\\' {
                return Err(SelectorProblem::Unexpected {
                    found: next,
                    at: self.at - 1,
                });
            }
        }
        Err(SelectorProblem::UnclosedQuote)
    }

    /// An identifier: letters, digits, `-` and `_` (no escapes).
    fn name(&mut self) -> Result<String, SelectorProblem> {
        let start = self.at;
        while self.peek().is_some_and(is_name_char) {
            self.bump();
        }
        if self.at == start {
            return Err(SelectorProblem::MissingName { at: start });
        }
        Ok(self.text[start..self.at].to_owned())
    }

    fn unexpected(&self, found: char) -> SelectorProblem {
        SelectorProblem::Unexpected { found, at: self.at }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn starts_compound(c: char) -> bool {
    is_name_char(c) || matches!(c, '*' | '#' | '.' | '[')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn element(tag: &str, attributes: Value) -> (String, Map<String, Value>) {
        let Value::Object(map) = attributes else {
            panic!("attributes must be an object")
        };
        (tag.to_owned(), map)
    }

    fn matches(selector: &str, tag: &str, attributes: Value) -> bool {
        let (tag, attributes) = element(tag, attributes);
        let list = SelectorList::parse(selector).expect("selector parses");
        list.matches(ElementRef {
            tag: &tag,
            attributes: &attributes,
        })
    }

    fn problem(selector: &str) -> SelectorProblem {
        SelectorList::parse(selector)
            .expect_err("selector is refused")
            .problem
    }

    #[test]
    fn compound_parts_must_all_match() {
        let attrs = json!({"class": "card public  wide", "id": "x", "data-kind": "faq"});
        assert!(matches("div.public#x", "div", attrs.clone()));
        assert!(matches("DIV.public.wide", "div", attrs.clone()));
        assert!(matches("[data-kind=faq]", "div", attrs.clone()));
        assert!(matches("*[data-kind='faq'][id]", "div", attrs.clone()));
        assert!(matches(".wide", "section", attrs.clone()));
        assert!(!matches("span.public", "div", attrs.clone()));
        assert!(!matches("div.pub", "div", attrs.clone()));
        assert!(!matches("div#y", "div", attrs.clone()));
        assert!(!matches("[data-kind=FAQ]", "div", attrs.clone()));
        assert!(!matches("[title]", "div", attrs));
        assert!(matches("[DATA-KIND]", "div", json!({"data-kind": "faq"})));
        assert!(!matches(".public", "div", json!({"cLass": "public"})));
    }

    #[test]
    fn comma_list_matches_any_item() {
        assert!(matches(" h1 , .public ", "p", json!({"class": "public"})));
        assert!(matches("h1,.public", "h1", json!({})));
        assert!(!matches("h1, .public", "p", json!({"class": "private"})));
    }

    #[test]
    fn attribute_values_of_every_recorded_kind() {
        assert!(matches("[width='300']", "img", json!({"width": 300})));
        assert!(matches("[open='']", "details", json!({"open": true})));
        assert!(!matches("[open]", "details", json!({"open": null})));
    }

    #[test]
    fn refusals_name_the_selector_and_the_problem() {
        let error = SelectorList::parse(".a .b").expect_err("refused");
        assert_eq!(error.selector, ".a .b");
        assert_eq!(error.problem, SelectorProblem::Combinator);
        assert_eq!(
            error.to_string(),
            "bad public selector \".a .b\": combinators (descendant, `>`, `+`, `~`) are not \
             supported: name the public element itself"
        );
        assert_eq!(problem("div > p"), SelectorProblem::Combinator);
        assert_eq!(problem("div+p"), SelectorProblem::Combinator);
        assert_eq!(problem(""), SelectorProblem::Empty);
        assert_eq!(problem("a,,b"), SelectorProblem::Empty);
        assert_eq!(problem("a,"), SelectorProblem::Empty);
        assert_eq!(
            problem("a:hover"),
            SelectorProblem::Unexpected { found: ':', at: 1 }
        );
        assert_eq!(
            problem("[href^=x]"),
            SelectorProblem::Unexpected { found: '^', at: 5 }
        );
        assert_eq!(problem("div.#x"), SelectorProblem::MissingName { at: 4 });
        assert_eq!(problem("[data-x"), SelectorProblem::UnclosedAttribute);
        assert_eq!(problem("[data-x=\"y]"), SelectorProblem::UnclosedQuote);
    }
}

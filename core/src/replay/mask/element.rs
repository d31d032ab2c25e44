//! What masking knows of an element (or the document) seen in a batch: the kind of its tag, and
//! whether it is SVG or public. Nodes record these facts as the tree is walked; attributes and
//! later mutations are judged by them.

/// What masking needs to know of an element's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::replay::mask) enum ElementKind {
    /// `<style>`: its style text is CSS, and it may carry `_cssText`.
    Style,
    /// `<link>`: it may carry `_cssText`.
    Link,
    /// `<script>` or `<noscript>`: its text is emptied.
    Script,
    Other,
}

/// What masking needs to know of an element (or the document) seen in this batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::replay::mask) struct ElementFacts {
    pub kind: ElementKind,
    /// An SVG element: its geometry attributes are kept.
    pub svg: bool,
    /// The element or one of its ancestors matches a public selector.
    pub public: bool,
}

impl ElementFacts {
    /// An element nothing is known of: masked, no SVG or stylesheet attributes.
    pub(super) const UNKNOWN: ElementFacts = ElementFacts {
        kind: ElementKind::Other,
        svg: false,
        public: false,
    };
}

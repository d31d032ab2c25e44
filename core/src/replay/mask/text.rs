//! What a text may show, and the same-length mask that hides it.

/// What a text node's place in the tree lets it show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextKind {
    /// Inside a public element: shown as it is.
    Public,
    /// A style text (`isStyle`) whose parent is a `<style>`: CSS, shown as it is.
    Css,
    /// Inside a `<script>` or `<noscript>`: emptied.
    Script,
    /// Anywhere else, or where its place is unknown: masked.
    Private,
}

/// `text` as a text of `kind` may show it.
pub(super) fn shown(kind: TextKind, text: &str) -> String {
    match kind {
        TextKind::Public | TextKind::Css => text.to_owned(),
        TextKind::Script => String::new(),
        TextKind::Private => mask(text),
    }
}

/// The same-length mask of `text`: each non-whitespace character becomes `*`, whitespace is
/// kept, so the replayed layout keeps its lines and widths roughly.
pub(super) fn mask(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_whitespace_and_character_count() {
        assert_eq!(mask("Jane Doe\n\t42 €"), "**** ***\n\t** *");
        assert_eq!(mask("日本語"), "***");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn each_kind_shows_what_it_may() {
        assert_eq!(shown(TextKind::Public, "Hi you"), "Hi you");
        assert_eq!(shown(TextKind::Css, "a{b:c}"), "a{b:c}");
        assert_eq!(shown(TextKind::Script, "alert(1)"), "");
        assert_eq!(shown(TextKind::Private, "Hi you"), "** ***");
    }
}

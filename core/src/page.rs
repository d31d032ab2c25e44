//! Page identity: URL normalization and the 64-bit page key used in storage keys.

use xxhash_rust::xxh3::xxh3_64;

/// Why a URL cannot name a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("page url is not a valid absolute URL: {0}")]
    Invalid(String),
    #[error("page url must be http or https, not {0}")]
    Scheme(String),
}

/// Returns the page's canonical URL: scheme and host lower-cased, fragment dropped, query
/// dropped unless `keep_query`.
pub fn normalize_url(raw: &str, keep_query: bool) -> Result<String, UrlError> {
    let mut url = url::Url::parse(raw.trim()).map_err(|err| UrlError::Invalid(err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(url.scheme().to_owned()));
    }
    url.set_fragment(None);
    if !keep_query {
        url.set_query(None);
    }
    Ok(url.into())
}

/// Returns the page key of a normalized URL: 16 lowercase hex digits of its XXH3-64 hash.
pub fn page_key(normalized_url: &str) -> String {
    PageKey::of(normalized_url).as_str().to_owned()
}

/// A page key held inline, so that looking a page up by its key allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey([u8; 16]);

impl PageKey {
    /// Returns the page key of a normalized URL (see [`page_key`]).
    pub fn of(normalized_url: &str) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hash = xxh3_64(normalized_url.as_bytes());
        let mut digits = [0u8; 16];
        for (position, digit) in digits.iter_mut().enumerate() {
            *digit = HEX[((hash >> (60 - 4 * position)) & 0xf) as usize];
        }
        PageKey(digits)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Returns true if `value` looks like a page key rather than a URL.
pub fn is_page_key(value: &str) -> bool {
    value.len() == 16
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_lowercases_host_and_drops_fragment_and_query() {
        assert_eq!(
            normalize_url("HTTPS://Shop.Example.COM/Cart?id=3#top", false).as_deref(),
            Ok("https://shop.example.com/Cart")
        );
        assert_eq!(
            normalize_url("https://shop.example.com/cart?id=3#top", true).as_deref(),
            Ok("https://shop.example.com/cart?id=3")
        );
        assert!(normalize_url("javascript:alert(1)", false).is_err());
        assert!(normalize_url("/relative", false).is_err());
    }

    #[test]
    fn page_keys_are_stable_hex() {
        let key = page_key("https://shop.example.com/");
        assert!(is_page_key(&key));
        assert_eq!(key, page_key("https://shop.example.com/"));
        assert_ne!(key, page_key("https://shop.example.com/cart"));
        // Pinned so that keys already in stores keep resolving.
        assert_eq!(page_key(""), "2d06800538d394c2");
        let url = "https://shop.example.com/cart";
        assert_eq!(page_key(url), format!("{:016x}", xxh3_64(url.as_bytes())));
    }
}

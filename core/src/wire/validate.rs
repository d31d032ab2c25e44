//! Checks of single values of a batch: session ids, tags, and JSON numbers that must be
//! integers in a range. Each error names the value so a client developer can act on it.

use super::{WireError, invalid};

/// Checks that a session id is 1–128 characters of `[A-Za-z0-9_-]`.
pub fn validate_session_id(id: &str) -> Result<(), WireError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "session must be 1-128 characters of A-Z a-z 0-9 _ -",
        ))
    }
}

/// Validates a tag key (`[a-z0-9_]{1,32}`) and value (1–64 printable characters).
pub fn validate_tag(key: &str, value: &str) -> Result<(), WireError> {
    let key_ok = !key.is_empty()
        && key.len() <= 32
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let value_ok = !value.is_empty() && value.len() <= 64 && !value.chars().any(char::is_control);
    if key_ok && value_ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "tag {key:?} must match [a-z0-9_]{{1,32}} with a value of 1-64 printable characters"
        )))
    }
}

/// Converts a JSON number to an integer in `min..=max`, naming `what` when it is not.
pub fn integer_in(value: f64, min: i64, max: i64, what: &str) -> Result<i64, WireError> {
    if !value.is_finite() || value < min as f64 || value > max as f64 {
        return Err(invalid(format!(
            "{what} must be a number from {min} to {max}, got {value}"
        )));
    }
    Ok(value.round() as i64)
}

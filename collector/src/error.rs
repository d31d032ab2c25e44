//! The collector's one error type: every way a batch request is refused. [`IngestError::status`]
//! and [`IngestError::reason`] are the one exhaustive map from a refusal to its HTTP status, its
//! metrics reason and its `Retry-After`; every route answers its errors through
//! [`IngestError::to_response`].

use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use crate::metrics::RefusalReason;
use crate::wal::WalError;

/// Why a batch request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The body is not a valid batch: bad JSON, a field out of range, a bad encoding.
    #[error("{0}")]
    Malformed(String),
    /// The request's origin may not send for the site.
    #[error("{0}")]
    OriginNotAllowed(String),
    /// The site is not one the collector accepts.
    #[error("{0}")]
    UnknownSite(String),
    /// The body, as sent or decompressed, is over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// The content type or content encoding is not accepted.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The client sends faster than its rate.
    #[error("{0}")]
    RateLimited(String),
    /// The store cannot give what the batch needs (the site's visitor-key secret).
    #[error("{0}")]
    StoreUnavailable(String),
    /// The log could not make the batch durable.
    #[error(transparent)]
    NotDurable(#[from] WalError),
    /// A task of the collector failed.
    #[error("{0}")]
    Internal(String),
}

impl IngestError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Malformed(_) => StatusCode::BAD_REQUEST,
            IngestError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            IngestError::UnknownSite(_) => StatusCode::NOT_FOUND,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            IngestError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::NotDurable(WalError::NoSpace(_)) => StatusCode::INSUFFICIENT_STORAGE,
            IngestError::NotDurable(WalError::Full { .. } | WalError::Io(_) | WalError::Closed) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            IngestError::NotDurable(WalError::Encode(_)) | IngestError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The reason the refusal is counted under in `/metrics`.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Malformed(_) => "malformed",
            IngestError::OriginNotAllowed(_) => "origin_not_allowed",
            IngestError::UnknownSite(_) => "unknown_site",
            IngestError::TooLarge(_) => "too_large",
            IngestError::UnsupportedMedia(_) => "unsupported_type_or_encoding",
            IngestError::RateLimited(_) => "rate_limited",
            IngestError::StoreUnavailable(_) => "store_unavailable",
            IngestError::NotDurable(WalError::Full { .. }) => "log_full",
            IngestError::NotDurable(WalError::NoSpace(_)) => "disk_full",
            IngestError::NotDurable(WalError::Io(_) | WalError::Closed) => "log_write_failed",
            IngestError::NotDurable(WalError::Encode(_)) | IngestError::Internal(_) => "other",
        }
    }

    /// Seconds after which the client should send again, for refusals that pass.
    fn retry_after_s(&self) -> Option<&'static str> {
        match self {
            IngestError::RateLimited(_) => Some("1"),
            IngestError::NotDurable(WalError::NoSpace(_)) => Some("10"),
            IngestError::StoreUnavailable(_) | IngestError::NotDurable(_) => Some("5"),
            IngestError::Malformed(_)
            | IngestError::OriginNotAllowed(_)
            | IngestError::UnknownSite(_)
            | IngestError::TooLarge(_)
            | IngestError::UnsupportedMedia(_)
            | IngestError::Internal(_) => None,
        }
    }

    /// The JSON error answer, with `Retry-After` where the refusal passes, carrying its reason
    /// for the metrics. Logged with its reason (never the payload).
    pub fn to_response(&self) -> Response {
        let status = self.status();
        tracing::info!(status = status.as_u16(), reason = %self, "rejected batch");
        let mut response = heatpipe_io::http::json_error(status, &self.to_string());
        if let Some(seconds) = self.retry_after_s() {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static(seconds));
        }
        response
            .extensions_mut()
            .insert(RefusalReason(self.reason()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_reason_and_retry_after() {
        let cases = [
            (IngestError::Malformed("m".into()), 400, "malformed", None),
            (
                IngestError::RateLimited("r".into()),
                429,
                "rate_limited",
                Some("1"),
            ),
            (
                IngestError::NotDurable(WalError::NoSpace("full".into())),
                507,
                "disk_full",
                Some("10"),
            ),
            (
                IngestError::NotDurable(WalError::Full {
                    pending_bytes: 2,
                    limit_bytes: 1,
                }),
                503,
                "log_full",
                Some("5"),
            ),
            (
                IngestError::NotDurable(WalError::Io("eio".into())),
                503,
                "log_write_failed",
                Some("5"),
            ),
        ];
        for (error, status, reason, retry_after) in cases {
            let response = error.to_response();
            assert_eq!(response.status().as_u16(), status, "{error:?}");
            assert_eq!(
                response.extensions().get::<RefusalReason>(),
                Some(&RefusalReason(reason))
            );
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                retry_after
            );
        }
    }
}

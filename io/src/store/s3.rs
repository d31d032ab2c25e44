//! A store in an S3 bucket (or any S3-compatible server: MinIO, Ceph, s3s-fs, moto), through
//! aws-sdk-s3 with path-style addressing, every key under an optional prefix.

use std::ops::Range;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, ByteStreamError};
use bytes::Bytes;

use super::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult, validate_key};

/// Explicit connection settings, for when the standard AWS sources are not wanted (tests, config).
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `http://127.0.0.1:9000`; `None` for AWS itself.
    pub endpoint_url: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Objects in `bucket`, each key stored under `prefix/`.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// Connects with the standard AWS sources (`AWS_ENDPOINT_URL`, `AWS_REGION`, credential chain).
    pub async fn from_env(bucket: &str, prefix: &str) -> Self {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build();
        Self::with_client(Client::from_conf(config), bucket, prefix)
    }

    /// Connects with explicit settings.
    pub fn from_settings(settings: &S3Settings, bucket: &str, prefix: &str) -> Self {
        let credentials = aws_sdk_s3::config::Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "heatpipe-settings",
        );
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true);
        if let Some(endpoint) = &settings.endpoint_url {
            builder = builder.endpoint_url(endpoint);
        }
        Self::with_client(Client::from_conf(builder.build()), bucket, prefix)
    }

    /// Uses an already configured client.
    pub fn with_client(client: Client, bucket: &str, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        S3Store {
            client,
            bucket: bucket.to_owned(),
            prefix,
        }
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn sdk_error<E, R>(operation: &'static str, key: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    StoreError::new(kind_of(&err), operation, key, DisplayErrorContext(&err))
}

/// What kind of failure an SDK error is (after the SDK's own retries): how far the request got
/// decides, then the answer's status and S3 error code.
fn kind_of<E, R>(err: &SdkError<E, R>) -> StoreErrorKind
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    let status = err.raw_response().map(HttpStatus::status_code);
    match err {
        // The request could not be built: ours to fix, not the store's.
        SdkError::ConstructionFailure(_) => StoreErrorKind::Io,
        SdkError::TimeoutError(_) => StoreErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => StoreErrorKind::Timeout,
        // A request the client refused to send as configured (a bad endpoint URL…).
        SdkError::DispatchFailure(failure) if failure.is_user() => StoreErrorKind::Io,
        // Refused, reset or dropped connections, and whatever else kept the request from the
        // store.
        SdkError::DispatchFailure(_) => StoreErrorKind::Unavailable,
        SdkError::ServiceError(_) => answer_kind(status, err.code()),
        // An answer that could not be read: a connection cut short, unless its status says
        // more.
        SdkError::ResponseError(_) => match status {
            Some(400..=599) => answer_kind(status, err.code()),
            _ => StoreErrorKind::Unavailable,
        },
        _ => StoreErrorKind::Io,
    }
}

/// What kind of failure an answer of the store is, by its HTTP status and S3 error code.
fn answer_kind(status: Option<u16>, code: Option<&str>) -> StoreErrorKind {
    match (status, code) {
        // S3 sends `RequestTimeout` with a 400 when our upload was too slow to arrive.
        (Some(408), _) | (_, Some("RequestTimeout")) => StoreErrorKind::Timeout,
        (Some(429 | 500 | 502 | 503 | 504), _)
        | (
            _,
            Some(
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "TooManyRequests"
                | "RequestLimitExceeded"
                | "InternalError"
                | "ServiceUnavailable",
            ),
        ) => StoreErrorKind::Unavailable,
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => StoreErrorKind::NotFound,
        (Some(401 | 403), _) => StoreErrorKind::Unauthorized,
        _ => StoreErrorKind::Io,
    }
}

/// A failure reading an answer's body: the connection broke off after the answer began.
fn body_error(operation: &'static str, key: &str, err: ByteStreamError) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        operation,
        key,
        format!("reading the body: {}", DisplayErrorContext(&err)),
    )
}

/// The HTTP status of a raw SDK response.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        validate_key("put", key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|err| sdk_error("put", key, err))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Bytes> {
        validate_key("get", key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|err| sdk_error("get", key, err))?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|err| body_error("get", key, err))?;
        Ok(body.into_bytes())
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes> {
        validate_key("get_range", key)?;
        if range.end <= range.start {
            // An empty range still has to say whether the object exists.
            self.client
                .head_object()
                .bucket(&self.bucket)
                .key(self.full_key(key))
                .send()
                .await
                .map_err(|err| sdk_error("get_range", key, err))?;
            return Ok(Bytes::new());
        }
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // 416: the range starts at or past the end of an object that exists.
            Err(err) if err.raw_response().map(HttpStatus::status_code) == Some(416) => {
                return Ok(Bytes::new());
            }
            Err(err) => return Err(sdk_error("get_range", key, err)),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|err| body_error("get_range", key, err))?;
        Ok(body.into_bytes())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| sdk_error("list", prefix, err))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                let size_bytes = object
                    .size()
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0);
                found.push(ObjectMeta {
                    key: key.to_owned(),
                    size_bytes,
                });
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        validate_key("delete", key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|err| sdk_error("delete", key, err))?;
        Ok(())
    }

    fn identity(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    type GetError = SdkError<GetObjectError, HttpResponse>;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().expect("status"), SdkBody::empty())
    }

    /// The store's answer `status`, with S3 error `code` if any.
    fn answer(status: u16, code: Option<&str>) -> GetError {
        let mut metadata = ErrorMetadata::builder();
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        SdkError::service_error(GetObjectError::generic(metadata.build()), response(status))
    }

    fn kind(err: GetError) -> StoreErrorKind {
        kind_of(&err)
    }

    fn boxed(message: &str) -> aws_sdk_s3::error::BoxError {
        message.to_owned().into()
    }

    #[test]
    fn answers_map_to_kinds_by_status_and_code() {
        use StoreErrorKind::*;
        let cases = [
            (404, Some("NoSuchKey"), NotFound),
            (404, None, NotFound),
            (403, Some("AccessDenied"), Unauthorized),
            (403, Some("SignatureDoesNotMatch"), Unauthorized),
            (401, None, Unauthorized),
            (500, Some("InternalError"), Unavailable),
            (502, None, Unavailable),
            (503, Some("SlowDown"), Unavailable),
            (503, Some("ServiceUnavailable"), Unavailable),
            (504, None, Unavailable),
            (429, None, Unavailable),
            (400, Some("SlowDown"), Unavailable),
            (400, Some("RequestTimeout"), Timeout),
            (408, None, Timeout),
            (400, Some("InvalidArgument"), Io),
            (409, None, Io),
            (501, Some("NotImplemented"), Io),
        ];
        for (status, code, expected) in cases {
            assert_eq!(kind(answer(status, code)), expected, "{status} {code:?}");
        }
    }

    #[test]
    fn failures_before_an_answer_map_to_kinds_by_how_far_the_request_got() {
        use StoreErrorKind::*;
        let dispatch = |error: ConnectorError| kind(SdkError::dispatch_failure(error));
        assert_eq!(dispatch(ConnectorError::io(boxed("refused"))), Unavailable);
        assert_eq!(dispatch(ConnectorError::timeout(boxed("slow"))), Timeout);
        assert_eq!(dispatch(ConnectorError::user(boxed("bad url"))), Io);
        assert_eq!(
            dispatch(ConnectorError::other(boxed("?"), None)),
            Unavailable
        );
        assert_eq!(kind(SdkError::timeout_error(boxed("deadline"))), Timeout);
        assert_eq!(kind(SdkError::construction_failure(boxed("no region"))), Io);
        // An answer cut short is a broken connection, unless its status says more.
        assert_eq!(
            kind(SdkError::response_error(boxed("eof"), response(200))),
            Unavailable
        );
        assert_eq!(
            kind(SdkError::response_error(boxed("bad xml"), response(503))),
            Unavailable
        );
        assert_eq!(
            kind(SdkError::response_error(boxed("bad xml"), response(404))),
            NotFound
        );
    }
}

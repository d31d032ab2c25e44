//! Request bodies: content type and encoding checks, and bounded decompression so a small
//! compressed body cannot expand into gigabytes.

use std::io::Read;

use bytes::Bytes;

use crate::error::IngestError;

/// A request body as received, with the headers that say how to read it.
#[derive(Debug)]
pub struct RawBody {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub bytes: Bytes,
}

impl RawBody {
    /// Checks the content type and returns the body decompressed (at most `max_bytes`).
    pub fn decode(self, max_bytes: u64) -> Result<Bytes, IngestError> {
        check_content_type(self.content_type.as_deref())?;
        decode_body(self.content_encoding.as_deref(), self.bytes, max_bytes)
    }
}

/// Extracts a [`RawBody`] of at most `max_body_bytes` as sent.
pub fn raw_body(
    max_body_bytes: u64,
) -> impl warp::Filter<Extract = (RawBody,), Error = warp::Rejection> + Clone {
    use warp::Filter;
    warp::body::content_length_limit(max_body_bytes)
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<String>("content-encoding"))
        .and(warp::body::bytes().or_else(|_| async {
            Err(warp::reject::custom(heatpipe_io::http::BadRequest(
                "the request body ended before its announced length".into(),
            )))
        }))
        .map(|content_type, content_encoding, bytes| RawBody {
            content_type,
            content_encoding,
            bytes,
        })
}

/// Accepts `application/json`, `text/plain` (what `sendBeacon` sends) or no content type.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), IngestError> {
    let Some(value) = content_type else {
        return Ok(());
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "text/plain" | "" => Ok(()),
        other => Err(IngestError::UnsupportedMedia(format!(
            "content type {other} is not accepted; send application/json or text/plain"
        ))),
    }
}

/// Returns the body decompressed per `Content-Encoding` (none, gzip or zstd), refusing more than
/// `max_bytes` of output.
pub fn decode_body(
    encoding: Option<&str>,
    body: Bytes,
    max_bytes: u64,
) -> Result<Bytes, IngestError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    let reader: Box<dyn Read> = match encoding.as_deref() {
        None | Some("" | "identity") => return Ok(body),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        Some("zstd") => Box::new(
            zstd::stream::read::Decoder::new(&body[..])
                .map_err(|err| IngestError::Malformed(format!("bad zstd body: {err}")))?,
        ),
        Some(other) => {
            return Err(IngestError::UnsupportedMedia(format!(
                "content encoding {other} is not accepted; send gzip, zstd or none"
            )));
        }
    };
    let mut out = Vec::new();
    reader
        .take(max_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|err| IngestError::Malformed(format!("body does not decompress: {err}")))?;
    if out.len() as u64 > max_bytes {
        return Err(IngestError::TooLarge(format!(
            "body decompresses to more than {max_bytes} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use warp::http::StatusCode;

    #[test]
    fn gzip_bombs_are_refused() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b'a'; 10_000_000]).expect("write");
        let bomb = Bytes::from(encoder.finish().expect("finish"));
        assert!(bomb.len() < 20_000);
        let err = decode_body(Some("gzip"), bomb, 1 << 20).expect_err("bomb");
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn encodings_and_types_are_checked() {
        let plain = Bytes::from_static(b"{}");
        let zstd_body = Bytes::from(zstd::encode_all(&b"{\"a\":1}"[..], 3).expect("zstd"));
        assert_eq!(
            decode_body(Some("zstd"), zstd_body, 100).expect("zstd"),
            Bytes::from_static(b"{\"a\":1}")
        );
        assert_eq!(
            decode_body(Some("br"), plain.clone(), 100)
                .expect_err("br")
                .status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            decode_body(Some("gzip"), plain, 100)
                .expect_err("not gzip")
                .status(),
            StatusCode::BAD_REQUEST
        );
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json")).is_ok());
        assert_eq!(
            check_content_type(Some("application/xml"))
                .expect_err("xml")
                .status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}

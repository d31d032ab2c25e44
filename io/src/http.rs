//! JSON errors for every HTTP surface: one body shape, and one mapping from warp's own
//! rejections, so that no bad request ever gets an HTML page or an empty 500.

use std::convert::Infallible;

use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

/// The body of every error response: `{"error": {"status": 400, "message": "…"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    pub status: u16,
    pub message: &'a str,
}

/// A request refused as malformed before any route saw it (a body that ended before its
/// announced length, for example): [`recover`] answers it 400 with its message.
#[derive(Debug)]
pub struct BadRequest(pub String);

impl warp::reject::Reject for BadRequest {}

/// Returns a JSON error response with `status` and `message`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            status: status.as_u16(),
            message,
        },
    };
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// Matches `GET /healthz`: 200 `{"ok": true}` while the server answers.
pub fn healthz_filter() -> impl warp::Filter<Extract = (Response,), Error = warp::Rejection> + Clone
{
    use warp::Filter;
    warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"ok": true})).into_response())
}

/// Turns warp's rejections (no route, wrong method, bad query, body too large…) into JSON errors.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    use warp::reject;
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "no such endpoint".to_owned())
    } else if let Some(err) = rejection.find::<reject::InvalidQuery>() {
        (StatusCode::BAD_REQUEST, format!("bad query string: {err}"))
    } else if let Some(err) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        (StatusCode::BAD_REQUEST, format!("bad request body: {err}"))
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is too large".to_owned(),
        )
    } else if rejection.find::<reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "a content-length header is required".to_owned(),
        )
    } else if rejection.find::<reject::UnsupportedMediaType>().is_some() {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type".to_owned(),
        )
    } else if let Some(err) = rejection.find::<reject::InvalidHeader>() {
        (StatusCode::BAD_REQUEST, err.to_string())
    } else if let Some(err) = rejection.find::<reject::MissingHeader>() {
        (StatusCode::BAD_REQUEST, err.to_string())
    } else if let Some(BadRequest(message)) = rejection.find::<BadRequest>() {
        (StatusCode::BAD_REQUEST, message.clone())
    } else if rejection.find::<reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this endpoint".to_owned(),
        )
    } else {
        tracing::warn!(rejection = ?rejection, "unhandled rejection");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_owned(),
        )
    };
    Ok(json_error(status, &message))
}

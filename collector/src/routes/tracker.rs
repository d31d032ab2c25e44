//! `GET /t.js` and `GET /t-replay.js`: the tracker and its DOM replay recorder, built into the
//! binary. `/t.js` carries the configured sites' replay settings, so the tracker knows them
//! without a request of its own; `/t-replay.js` is rrweb's recorder followed by heatpipe's sender
//! (`assets/t-replay.js`), and t.js loads it only on pages that record replay. Both bodies are
//! made once, when the routes are built.

use bytes::Bytes;
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::admission::Admission;

/// The tracker's source, with [`REPLAY_SITES_PLACEHOLDER`] where the sites' settings go.
pub const TRACKER_JS: &str = include_str!("../../assets/t.js");
/// The replay sender's source, appended to rrweb's recorder in `/t-replay.js`.
pub const REPLAY_SENDER_JS: &str = include_str!("../../assets/t-replay.js");
/// Replaced in [`TRACKER_JS`] by the JSON object `{site: {replay, public, media}}`; as it is,
/// an empty object, so the source stays valid JavaScript.
pub const REPLAY_SITES_PLACEHOLDER: &str = "/*heatpipe:replay-sites*/{}";

/// Returns `/t.js`'s body: the tracker with the replay settings of every configured site that
/// has some (sites with none are left out, so the script does not list every site).
pub fn tracker_body(admission: &Admission) -> String {
    let settings = serde_json::to_string(&admission.replay_overrides())
        .unwrap_or_else(|_| String::from("{}"))
        // Line separators are valid in JSON strings but were not in JavaScript before ES2019.
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    TRACKER_JS.replacen(REPLAY_SITES_PLACEHOLDER, &settings, 1)
}

/// Returns `/t-replay.js`'s body: rrweb's recorder (`window.heatpipeRrwebRecord`), then the
/// sender.
pub fn replay_body() -> Bytes {
    let mut body = Vec::with_capacity(heatpipe_web::RECORD_JS.len() + REPLAY_SENDER_JS.len() + 2);
    body.extend_from_slice(heatpipe_web::RECORD_JS);
    body.extend_from_slice(b"\n;");
    body.extend_from_slice(REPLAY_SENDER_JS.as_bytes());
    Bytes::from(body)
}

/// Matches `GET /t.js`, serving the tracker with `admission`'s replay settings.
pub fn tracker_filter(
    admission: &Admission,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + use<> {
    let body = Bytes::from(tracker_body(admission));
    warp::path!("t.js")
        .and(warp::get())
        .map(move || script(body.clone()))
}

/// Matches `GET /t-replay.js`.
pub fn replay_script_filter() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone
{
    let body = replay_body();
    warp::path!("t-replay.js")
        .and(warp::get())
        .map(move || script(body.clone()))
}

/// A script any page may load, cached for five minutes.
fn script(body: Bytes) -> Response {
    let mut response = warp::http::Response::new(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    headers.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::SiteConfig;

    #[test]
    fn the_tracker_carries_the_replay_settings_of_configured_sites() {
        assert_eq!(TRACKER_JS.matches(REPLAY_SITES_PLACEHOLDER).count(), 1);
        let shop = SiteConfig {
            replay: Some(crate::admission::ReplayMode::Dom),
            replay_public: vec!["h1 \u{2028}".into()],
            ..SiteConfig::parse_flag("shop").expect("flag")
        };
        let plain = SiteConfig::parse_flag("plain").expect("flag");
        let body = tracker_body(&Admission::new(&[shop, plain], 0, 0));
        assert!(!body.contains(REPLAY_SITES_PLACEHOLDER));
        let settings = r#"{"shop":{"replay":"dom","public":["h1 \u2028"],"media":[]}}"#;
        assert_eq!(
            body,
            TRACKER_JS.replace(REPLAY_SITES_PLACEHOLDER, settings),
            "only the configured site's settings, escaped for JavaScript"
        );
        let none = tracker_body(&Admission::new(&[], 0, 0));
        assert_eq!(
            none,
            TRACKER_JS.replace(REPLAY_SITES_PLACEHOLDER, "{}"),
            "no site configured: no settings"
        );
    }

    #[test]
    fn the_replay_script_is_the_recorder_then_the_sender() {
        let body = replay_body();
        assert!(body.starts_with(heatpipe_web::RECORD_JS));
        assert!(body.ends_with(REPLAY_SENDER_JS.as_bytes()));
        assert_eq!(
            body.len(),
            heatpipe_web::RECORD_JS.len() + 2 + REPLAY_SENDER_JS.len()
        );
        assert!(REPLAY_SENDER_JS.contains("heatpipeRrwebRecord"));
    }
}

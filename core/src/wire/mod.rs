//! The native batch: the JSON the tracker posts to `POST /v1/collect`, and its validation into a
//! [`Stream`]. Events are compact arrays so a batch of mouse moves stays small on the wire.
//!
//! ```json
//! {"site": "demo", "session": "k3j…", "seq": 0, "page_view": 0,
//!  "page": {"url": "https://shop.example/", "viewport": [1280, 800], "document": [1280, 4200],
//!           "started_at": 1763800000000, "tags": {"variant": "B"}},
//!  "moves": [[t, x, y], …], "clicks": [[t, x, y, "#buy", 0.5, 0.25], …],
//!  "scrolls": [[t, y], …], "resizes": [[t, width, height], …]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{
    Click, DeviceClass, Move, PERMYRIAD_MAX, PageView, Resize, Scroll, Stream, TargetPoint,
};
use crate::keys::validate_site;
use crate::page::normalize_url;

/// Bounds a batch must respect.
#[derive(Debug, Clone)]
pub struct WireLimits {
    pub max_events_per_batch: usize,
    pub max_url_len: usize,
    pub max_selector_len: usize,
    pub max_tags: usize,
    /// Largest `t` (ms since the page view started) accepted: a page view lasts at most this.
    pub max_t_ms: u32,
    /// Largest page coordinate accepted on either axis.
    pub max_coordinate_px: i32,
    /// Whether query strings are part of page identity.
    pub keep_query: bool,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            max_events_per_batch: 20_000,
            max_url_len: 2048,
            max_selector_len: 256,
            max_tags: 16,
            max_t_ms: 24 * 3_600_000,
            max_coordinate_px: 200_000,
            keep_query: false,
        }
    }
}

/// A native batch as posted by the tracker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeBatch {
    pub site: String,
    pub session: String,
    pub seq: u64,
    #[serde(default)]
    pub page_view: u32,
    pub page: WirePage,
    #[serde(default)]
    pub moves: Vec<(f64, f64, f64)>,
    #[serde(default)]
    pub clicks: Vec<WireClick>,
    #[serde(default)]
    pub scrolls: Vec<(f64, f64)>,
    #[serde(default)]
    pub resizes: Vec<(f64, f64, f64)>,
}

/// The page view a batch belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePage {
    pub url: String,
    pub viewport: (f64, f64),
    #[serde(default)]
    pub document: Option<(f64, f64)>,
    /// Unix milliseconds.
    pub started_at: i64,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `[t, x, y, selector]` or `[t, x, y, selector, x inside 0..1, y inside 0..1]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireClick {
    WithInside(f64, f64, f64, String, f64, f64),
    Plain(f64, f64, f64, String),
}

/// A valid batch: its site, its stream, and what was corrected on the way (said to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub site: String,
    pub stream: Stream,
    pub warnings: Vec<String>,
}

/// What is wrong with a batch, in words a client developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn invalid(message: impl Into<String>) -> WireError {
    WireError(message.into())
}

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

impl NativeBatch {
    /// Validates the batch and turns it into a stream; events are sorted by time.
    pub fn into_stream(self, limits: &WireLimits) -> Result<Converted, WireError> {
        validate_site(&self.site).map_err(|err| invalid(err.to_string()))?;
        validate_session_id(&self.session)?;
        let num_events =
            self.moves.len() + self.clicks.len() + self.scrolls.len() + self.resizes.len();
        if num_events > limits.max_events_per_batch {
            return Err(invalid(format!(
                "batch has {num_events} events; at most {} are accepted",
                limits.max_events_per_batch
            )));
        }
        let page = self.page.into_page_view(limits)?;
        let t = |value: f64, what: &str| {
            integer_in(value, 0, i64::from(limits.max_t_ms), what).map(|v| v as u32)
        };
        let coordinate = |value: f64, what: &str| {
            integer_in(
                value,
                -i64::from(limits.max_coordinate_px),
                i64::from(limits.max_coordinate_px),
                what,
            )
            .map(|v| v as i32)
        };
        let mut moves = self
            .moves
            .iter()
            .enumerate()
            .map(|(i, &(time, x, y))| {
                Ok(Move {
                    t_ms: t(time, &format!("moves[{i}] t"))?,
                    x: coordinate(x, &format!("moves[{i}] x"))?,
                    y: coordinate(y, &format!("moves[{i}] y"))?,
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        let mut clicks = Vec::with_capacity(self.clicks.len());
        for (i, click) in self.clicks.into_iter().enumerate() {
            let (time, x, y, selector, inside) = match click {
                WireClick::WithInside(time, x, y, selector, ix, iy) => {
                    (time, x, y, selector, Some((ix, iy)))
                }
                WireClick::Plain(time, x, y, selector) => (time, x, y, selector, None),
            };
            if selector.len() > limits.max_selector_len {
                return Err(invalid(format!(
                    "clicks[{i}] selector is longer than {} bytes",
                    limits.max_selector_len
                )));
            }
            let inside = match inside {
                Some((ix, iy)) => {
                    let permyriad = |v: f64, axis: &str| {
                        integer_in(
                            v * f64::from(PERMYRIAD_MAX),
                            0,
                            i64::from(PERMYRIAD_MAX),
                            &format!("clicks[{i}] {axis} inside the target (0..1)"),
                        )
                        .map(|v| v as u16)
                    };
                    Some(TargetPoint {
                        x_permyriad: permyriad(ix, "x")?,
                        y_permyriad: permyriad(iy, "y")?,
                    })
                }
                None => None,
            };
            clicks.push(Click {
                t_ms: t(time, &format!("clicks[{i}] t"))?,
                x: coordinate(x, &format!("clicks[{i}] x"))?,
                y: coordinate(y, &format!("clicks[{i}] y"))?,
                selector,
                inside,
            });
        }
        let mut scrolls = self
            .scrolls
            .iter()
            .enumerate()
            .map(|(i, &(time, y))| {
                Ok(Scroll {
                    t_ms: t(time, &format!("scrolls[{i}] t"))?,
                    y: coordinate(y, &format!("scrolls[{i}] y"))?,
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        let mut resizes = self
            .resizes
            .iter()
            .enumerate()
            .map(|(i, &(time, w, h))| {
                Ok(Resize {
                    t_ms: t(time, &format!("resizes[{i}] t"))?,
                    width_px: integer_in(w, 1, 100_000, &format!("resizes[{i}] width"))? as u32,
                    height_px: integer_in(h, 1, 100_000, &format!("resizes[{i}] height"))? as u32,
                })
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        let mut warnings = Vec::new();
        let mut in_time_order = |name: &str, times: Vec<u32>| {
            if times.windows(2).any(|w| w[0] > w[1]) {
                warnings.push(format!("{name} were not in time order; they were sorted"));
            }
        };
        in_time_order("moves", moves.iter().map(|e| e.t_ms).collect());
        in_time_order("clicks", clicks.iter().map(|e| e.t_ms).collect());
        in_time_order("scrolls", scrolls.iter().map(|e| e.t_ms).collect());
        in_time_order("resizes", resizes.iter().map(|e| e.t_ms).collect());
        moves.sort_by_key(|e| e.t_ms);
        clicks.sort_by_key(|e| e.t_ms);
        scrolls.sort_by_key(|e| e.t_ms);
        resizes.sort_by_key(|e| e.t_ms);
        let stream = Stream {
            session_id: self.session,
            batch_seq: self.seq,
            page_view_index: self.page_view,
            page,
            moves,
            clicks,
            scrolls,
            resizes,
        };
        Ok(Converted {
            site: self.site,
            stream,
            warnings,
        })
    }

    /// Returns the batch that carries `stream` for `site` (what the tracker would have sent).
    pub fn from_stream(site: &str, stream: &Stream) -> NativeBatch {
        let page = &stream.page;
        NativeBatch {
            site: site.to_owned(),
            session: stream.session_id.clone(),
            seq: stream.batch_seq,
            page_view: stream.page_view_index,
            page: WirePage {
                url: page.url.clone(),
                viewport: (
                    f64::from(page.viewport_width_px),
                    f64::from(page.viewport_height_px),
                ),
                document: (page.document_height_px > 0).then(|| {
                    (
                        f64::from(page.document_width_px),
                        f64::from(page.document_height_px),
                    )
                }),
                started_at: page.started_at_ms,
                tags: page.tags.iter().cloned().collect(),
            },
            moves: stream
                .moves
                .iter()
                .map(|e| (f64::from(e.t_ms), f64::from(e.x), f64::from(e.y)))
                .collect(),
            clicks: stream
                .clicks
                .iter()
                .map(|e| {
                    let (t, x, y) = (f64::from(e.t_ms), f64::from(e.x), f64::from(e.y));
                    match e.inside {
                        Some(p) => WireClick::WithInside(
                            t,
                            x,
                            y,
                            e.selector.clone(),
                            f64::from(p.x_permyriad) / 10_000.0,
                            f64::from(p.y_permyriad) / 10_000.0,
                        ),
                        None => WireClick::Plain(t, x, y, e.selector.clone()),
                    }
                })
                .collect(),
            scrolls: stream
                .scrolls
                .iter()
                .map(|e| (f64::from(e.t_ms), f64::from(e.y)))
                .collect(),
            resizes: stream
                .resizes
                .iter()
                .map(|e| {
                    (
                        f64::from(e.t_ms),
                        f64::from(e.width_px),
                        f64::from(e.height_px),
                    )
                })
                .collect(),
        }
    }
}

impl WirePage {
    fn into_page_view(self, limits: &WireLimits) -> Result<PageView, WireError> {
        if self.url.len() > limits.max_url_len {
            return Err(invalid(format!(
                "page.url is longer than {} bytes",
                limits.max_url_len
            )));
        }
        let url =
            normalize_url(&self.url, limits.keep_query).map_err(|err| invalid(err.to_string()))?;
        let viewport_width_px =
            integer_in(self.viewport.0, 1, 100_000, "page.viewport width")? as u32;
        let viewport_height_px =
            integer_in(self.viewport.1, 1, 100_000, "page.viewport height")? as u32;
        let (document_width_px, document_height_px) = match self.document {
            Some((w, h)) => (
                integer_in(w, 0, 1_000_000, "page.document width")? as u32,
                integer_in(h, 0, 1_000_000, "page.document height")? as u32,
            ),
            None => (0, 0),
        };
        if self.tags.len() > limits.max_tags {
            return Err(invalid(format!(
                "page.tags has {} tags; at most {} are accepted",
                self.tags.len(),
                limits.max_tags
            )));
        }
        for (key, value) in &self.tags {
            validate_tag(key, value)?;
        }
        Ok(PageView {
            url,
            viewport_width_px,
            viewport_height_px,
            document_width_px,
            document_height_px,
            device: DeviceClass::from_viewport_width(viewport_width_px),
            started_at_ms: self.started_at,
            tags: self.tags.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(json: &str) -> Result<(String, Stream), WireError> {
        let batch: NativeBatch =
            serde_json::from_str(json).map_err(|e| WireError(e.to_string()))?;
        batch
            .into_stream(&WireLimits::default())
            .map(|c| (c.site, c.stream))
    }

    #[test]
    fn out_of_order_times_are_sorted_and_said_so() {
        let batch: NativeBatch = serde_json::from_str(GOOD).expect("json");
        let converted = batch.into_stream(&WireLimits::default()).expect("valid");
        assert_eq!(
            converted.warnings,
            ["moves were not in time order; they were sorted"]
        );
    }

    const GOOD: &str = r##"{"site":"demo","session":"s1","seq":2,"page":{"url":"https://Demo.example/a#x","viewport":[390,844],"document":[390,3000],"started_at":1763800000000,"tags":{"variant":"B"}},
        "moves":[[20,5,6],[10,1.4,2]],"clicks":[[30,10,20,"#buy",0.5,0.25],[40,1,2,"a"]],"scrolls":[[50,300]],"resizes":[[60,400,800]]}"##;

    #[test]
    fn a_good_batch_becomes_a_sorted_stream() {
        let (site, stream) = batch(GOOD).expect("valid");
        assert_eq!(site, "demo");
        assert_eq!(stream.page.url, "https://demo.example/a");
        assert_eq!(stream.page.device, DeviceClass::Mobile);
        assert_eq!(
            stream.moves,
            vec![
                Move {
                    t_ms: 10,
                    x: 1,
                    y: 2
                },
                Move {
                    t_ms: 20,
                    x: 5,
                    y: 6
                }
            ]
        );
        assert_eq!(
            stream.clicks[0].inside,
            Some(TargetPoint {
                x_permyriad: 5000,
                y_permyriad: 2500
            })
        );
        assert_eq!(stream.clicks[1].inside, None);
        assert_eq!(
            stream.page.tags,
            vec![("variant".to_owned(), "B".to_owned())]
        );
        let again = NativeBatch::from_stream(&site, &stream)
            .into_stream(&WireLimits::default())
            .expect("round trip");
        assert_eq!(again.stream, stream);
        assert!(again.warnings.is_empty());
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let cases = [
            (GOOD.replace("\"demo\"", "\"De mo\""), "site must match"),
            (GOOD.replace("\"s1\"", "\"s 1\""), "session must be"),
            (GOOD.replace("[20,5,6]", "[-5,5,6]"), "moves[0] t"),
            (GOOD.replace("[50,300]", "[50,1e12]"), "scrolls[0] y"),
            (GOOD.replace("0.25", "1.5"), "clicks[0] y inside"),
            (
                GOOD.replace("https://Demo.example/a#x", "ftp://x/"),
                "http or https",
            ),
            (
                GOOD.replace("\"variant\"", "\"Bad Key\""),
                "tag \"Bad Key\"",
            ),
            (GOOD.replace("[390,844]", "[0,844]"), "page.viewport width"),
        ];
        for (json, expected) in cases {
            let err = batch(&json).expect_err(&json);
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
    }
}

//! A [`NativeBatch`] into a [`Stream`] — every value checked against [`WireLimits`], events
//! sorted by time — and a stream back into the batch the tracker would have sent.

use super::validate::{integer_in, validate_session_id, validate_tag};
use super::{Converted, NativeBatch, WireClick, WireError, WireLimits, WirePage, invalid};
use crate::event::{
    Click, ClickReaction, DeviceClass, Move, PERMYRIAD_MAX, PageView, Resize, Scroll, Stream,
    TargetPoint,
};
use crate::keys::validate_site;
use crate::page::normalize_url;

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
        let bounds = EventBounds { limits };
        let mut moves = bounds.moves(&self.moves)?;
        let mut clicks = bounds.clicks(self.clicks)?;
        let mut scrolls = bounds.scrolls(&self.scrolls)?;
        let mut resizes = bounds.resizes(&self.resizes)?;
        let warnings = [
            sort_by_time("moves", &mut moves, |e| e.t_ms),
            sort_by_time("clicks", &mut clicks, |e| e.t_ms),
            sort_by_time("scrolls", &mut scrolls, |e| e.t_ms),
            sort_by_time("resizes", &mut resizes, |e| e.t_ms),
        ]
        .into_iter()
        .flatten()
        .collect();
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
        NativeBatch {
            site: site.to_owned(),
            session: stream.session_id.clone(),
            seq: stream.batch_seq,
            page_view: stream.page_view_index,
            page: WirePage::from_page_view(&stream.page),
            moves: stream
                .moves
                .iter()
                .map(|e| (f64::from(e.t_ms), f64::from(e.x), f64::from(e.y)))
                .collect(),
            clicks: stream.clicks.iter().map(WireClick::from_click).collect(),
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

/// Sorts `events` by time (keeping the order of equal times); returns a warning naming them when
/// they were not in time order.
fn sort_by_time<E>(name: &str, events: &mut [E], t_ms: impl Fn(&E) -> u32) -> Option<String> {
    let unordered = events.windows(2).any(|w| t_ms(&w[0]) > t_ms(&w[1]));
    events.sort_by_key(t_ms);
    unordered.then(|| format!("{name} were not in time order; they were sorted"))
}

/// Checks a batch's events against the [`WireLimits`] and converts them; each error names the
/// event and field (`clicks[3] x`).
struct EventBounds<'a> {
    limits: &'a WireLimits,
}

impl EventBounds<'_> {
    /// Returns `value` as milliseconds since the page view started.
    fn t_ms(&self, value: f64, what: &str) -> Result<u32, WireError> {
        integer_in(value, 0, i64::from(self.limits.max_t_ms), what).map(|v| v as u32)
    }

    /// Returns `value` as a page coordinate in pixels.
    fn coordinate_px(&self, value: f64, what: &str) -> Result<i32, WireError> {
        let max = i64::from(self.limits.max_coordinate_px);
        integer_in(value, -max, max, what).map(|v| v as i32)
    }

    fn moves(&self, moves: &[(f64, f64, f64)]) -> Result<Vec<Move>, WireError> {
        moves
            .iter()
            .enumerate()
            .map(|(i, &(time, x, y))| {
                Ok(Move {
                    t_ms: self.t_ms(time, &format!("moves[{i}] t"))?,
                    x: self.coordinate_px(x, &format!("moves[{i}] x"))?,
                    y: self.coordinate_px(y, &format!("moves[{i}] y"))?,
                })
            })
            .collect()
    }

    fn clicks(&self, clicks: Vec<WireClick>) -> Result<Vec<Click>, WireError> {
        let mut converted = Vec::with_capacity(clicks.len());
        for (i, click) in clicks.into_iter().enumerate() {
            converted.push(self.click(i, click)?);
        }
        Ok(converted)
    }

    /// Converts `clicks[i]`.
    fn click(&self, i: usize, click: WireClick) -> Result<Click, WireError> {
        let (time, x, y, selector, inside, reaction) = match click {
            WireClick::Observed(time, x, y, selector, ix, iy, reaction) => {
                let reaction = ClickReaction::parse(&reaction)
                    .filter(|r| *r != ClickReaction::NotObserved)
                    .ok_or_else(|| {
                        invalid(format!(
                            "clicks[{i}] reaction must be \"none\", \"dom\" or \"url\", got {reaction:?}"
                        ))
                    })?;
                let inside = match (ix, iy) {
                    (Some(ix), Some(iy)) => Some((ix, iy)),
                    (None, None) => None,
                    _ => {
                        return Err(invalid(format!(
                            "clicks[{i}] needs both x and y inside the target, or neither"
                        )));
                    }
                };
                (time, x, y, selector, inside, reaction)
            }
            WireClick::WithInside(time, x, y, selector, ix, iy) => (
                time,
                x,
                y,
                selector,
                Some((ix, iy)),
                ClickReaction::NotObserved,
            ),
            WireClick::Plain(time, x, y, selector) => {
                (time, x, y, selector, None, ClickReaction::NotObserved)
            }
        };
        if selector.len() > self.limits.max_selector_len {
            return Err(invalid(format!(
                "clicks[{i}] selector is longer than {} bytes",
                self.limits.max_selector_len
            )));
        }
        let inside = match inside {
            Some((ix, iy)) => Some(point_inside_target(i, ix, iy)?),
            None => None,
        };
        Ok(Click {
            t_ms: self.t_ms(time, &format!("clicks[{i}] t"))?,
            x: self.coordinate_px(x, &format!("clicks[{i}] x"))?,
            y: self.coordinate_px(y, &format!("clicks[{i}] y"))?,
            selector,
            inside,
            reaction,
        })
    }

    fn scrolls(&self, scrolls: &[(f64, f64)]) -> Result<Vec<Scroll>, WireError> {
        scrolls
            .iter()
            .enumerate()
            .map(|(i, &(time, y))| {
                Ok(Scroll {
                    t_ms: self.t_ms(time, &format!("scrolls[{i}] t"))?,
                    y: self.coordinate_px(y, &format!("scrolls[{i}] y"))?,
                })
            })
            .collect()
    }

    fn resizes(&self, resizes: &[(f64, f64, f64)]) -> Result<Vec<Resize>, WireError> {
        resizes
            .iter()
            .enumerate()
            .map(|(i, &(time, w, h))| {
                Ok(Resize {
                    t_ms: self.t_ms(time, &format!("resizes[{i}] t"))?,
                    width_px: integer_in(w, 1, 100_000, &format!("resizes[{i}] width"))? as u32,
                    height_px: integer_in(h, 1, 100_000, &format!("resizes[{i}] height"))? as u32,
                })
            })
            .collect()
    }
}

/// Converts where `clicks[i]` landed inside its target, (`ix`, `iy`) in 0..1 of its box.
fn point_inside_target(i: usize, ix: f64, iy: f64) -> Result<TargetPoint, WireError> {
    let permyriad = |v: f64, axis: &str| {
        integer_in(
            v * f64::from(PERMYRIAD_MAX),
            0,
            i64::from(PERMYRIAD_MAX),
            &format!("clicks[{i}] {axis} inside the target (0..1)"),
        )
        .map(|v| v as u16)
    };
    Ok(TargetPoint {
        x_permyriad: permyriad(ix, "x")?,
        y_permyriad: permyriad(iy, "y")?,
    })
}

impl WireClick {
    /// Returns the wire form of `click`.
    fn from_click(click: &Click) -> WireClick {
        let (t, x, y) = (
            f64::from(click.t_ms),
            f64::from(click.x),
            f64::from(click.y),
        );
        let inside = click.inside.map(|p| {
            (
                f64::from(p.x_permyriad) / 10_000.0,
                f64::from(p.y_permyriad) / 10_000.0,
            )
        });
        if click.reaction != ClickReaction::NotObserved {
            return WireClick::Observed(
                t,
                x,
                y,
                click.selector.clone(),
                inside.map(|(ix, _)| ix),
                inside.map(|(_, iy)| iy),
                click.reaction.as_str().to_owned(),
            );
        }
        match click.inside {
            Some(p) => WireClick::WithInside(
                t,
                x,
                y,
                click.selector.clone(),
                f64::from(p.x_permyriad) / 10_000.0,
                f64::from(p.y_permyriad) / 10_000.0,
            ),
            None => WireClick::Plain(t, x, y, click.selector.clone()),
        }
    }
}

impl WirePage {
    /// Returns the wire form of `page`.
    fn from_page_view(page: &PageView) -> WirePage {
        WirePage {
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
            identify: None,
        }
    }

    /// Checks the page view's URL, sizes and tags, and returns it as a [`PageView`].
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
            visitor_key: None,
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

    #[test]
    fn clicks_carry_what_the_page_did_after_them() {
        let json = GOOD.replace(
            r##"[[30,10,20,"#buy",0.5,0.25],[40,1,2,"a"]]"##,
            r##"[[30,10,20,"#buy",0.5,0.25,"dom"],[40,1,2,"a",null,null,"none"],[45,3,4,"b",null,null,"url"],[46,3,4,"c"]]"##,
        );
        let (site, stream) = batch(&json).expect("valid");
        let reactions: Vec<ClickReaction> = stream.clicks.iter().map(|c| c.reaction).collect();
        assert_eq!(
            reactions,
            [
                ClickReaction::DomChanged,
                ClickReaction::Nothing,
                ClickReaction::Navigated,
                ClickReaction::NotObserved
            ]
        );
        assert!(stream.clicks[0].inside.is_some() && stream.clicks[1].inside.is_none());
        let again = NativeBatch::from_stream(&site, &stream)
            .into_stream(&WireLimits::default())
            .expect("round trip");
        assert_eq!(again.stream, stream);
        for (bad, expected) in [
            (
                r##"[[30,10,20,"#buy",0.5,0.25,"maybe"]]"##,
                "clicks[0] reaction must be",
            ),
            (
                r##"[[30,10,20,"#buy",0.5,0.25,""]]"##,
                "clicks[0] reaction must be",
            ),
            (
                r##"[[30,10,20,"#buy",0.5,null,"dom"]]"##,
                "clicks[0] needs both",
            ),
        ] {
            let json = GOOD.replace(r##"[[30,10,20,"#buy",0.5,0.25],[40,1,2,"a"]]"##, bad);
            let err = batch(&json).expect_err(bad);
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
    }
}

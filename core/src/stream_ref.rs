//! Borrowed streams: a stream as a decoder sees it in place, its strings pointing into the
//! block's string table and its events into the block's one buffer per event kind.
//!
//! The processor aggregates [`StreamRef`]s straight from the columns, so a day's events cost no
//! allocation each; [`StreamRef::to_stream`] makes the owned [`Stream`] where one is kept.

use crate::event::{
    Click, ClickReaction, DeviceClass, Move, PageView, Resize, Scroll, Stream, TargetPoint,
};

/// A click whose selector is borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickRef<'a> {
    pub t_ms: u32,
    pub x: i32,
    pub y: i32,
    pub selector: &'a str,
    pub inside: Option<TargetPoint>,
    pub reaction: ClickReaction,
}

/// A page view whose URL and tags are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRef<'a> {
    pub url: &'a str,
    pub viewport_width_px: u32,
    pub viewport_height_px: u32,
    pub document_width_px: u32,
    pub document_height_px: u32,
    pub device: DeviceClass,
    pub started_at_ms: i64,
    /// Sorted by key, keys unique.
    pub tags: &'a [(&'a str, &'a str)],
    pub visitor_key: Option<&'a str>,
}

/// One batch of one page view, borrowed: see [`Stream`] for the meaning of each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRef<'a> {
    pub session_id: &'a str,
    pub batch_seq: u64,
    pub page_view_index: u32,
    pub page: PageRef<'a>,
    pub moves: &'a [Move],
    pub clicks: &'a [ClickRef<'a>],
    pub scrolls: &'a [Scroll],
    pub resizes: &'a [Resize],
}

impl StreamRef<'_> {
    /// Returns how many events the stream holds, of every kind.
    pub fn num_events(&self) -> usize {
        self.moves.len() + self.clicks.len() + self.scrolls.len() + self.resizes.len()
    }

    /// Returns the time of the stream's first event (each list is in time order), or 0.
    pub fn first_t_ms(&self) -> u32 {
        first_t_ms(self.moves, self.clicks, self.scrolls, self.resizes)
    }

    /// Returns the time of the stream's last event, or 0 if it has none.
    pub fn last_t_ms(&self) -> u32 {
        last_t_ms(self.moves, self.clicks, self.scrolls, self.resizes)
    }

    /// Returns the deepest page `y` the bottom of the viewport reached, starting at the fold.
    pub fn max_depth_px(&self) -> u32 {
        max_depth_px(self.page.viewport_height_px, self.scrolls, self.resizes)
    }

    /// Returns the owned stream.
    pub fn to_stream(&self) -> Stream {
        let page = &self.page;
        Stream {
            session_id: self.session_id.to_owned(),
            batch_seq: self.batch_seq,
            page_view_index: self.page_view_index,
            page: PageView {
                url: page.url.to_owned(),
                viewport_width_px: page.viewport_width_px,
                viewport_height_px: page.viewport_height_px,
                document_width_px: page.document_width_px,
                document_height_px: page.document_height_px,
                device: page.device,
                started_at_ms: page.started_at_ms,
                tags: page
                    .tags
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                visitor_key: page.visitor_key.map(str::to_owned),
            },
            moves: self.moves.to_vec(),
            clicks: self
                .clicks
                .iter()
                .map(|c| Click {
                    t_ms: c.t_ms,
                    x: c.x,
                    y: c.y,
                    selector: c.selector.to_owned(),
                    inside: c.inside,
                    reaction: c.reaction,
                })
                .collect(),
            scrolls: self.scrolls.to_vec(),
            resizes: self.resizes.to_vec(),
        }
    }
}

impl Stream {
    /// Calls `f` with this stream borrowed as a [`StreamRef`].
    pub fn with_ref<R>(&self, f: impl FnOnce(&StreamRef<'_>) -> R) -> R {
        let tags: Vec<(&str, &str)> = self
            .page
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let clicks: Vec<ClickRef<'_>> = self
            .clicks
            .iter()
            .map(|c| ClickRef {
                t_ms: c.t_ms,
                x: c.x,
                y: c.y,
                selector: &c.selector,
                inside: c.inside,
                reaction: c.reaction,
            })
            .collect();
        let page = &self.page;
        f(&StreamRef {
            session_id: &self.session_id,
            batch_seq: self.batch_seq,
            page_view_index: self.page_view_index,
            page: PageRef {
                url: &page.url,
                viewport_width_px: page.viewport_width_px,
                viewport_height_px: page.viewport_height_px,
                document_width_px: page.document_width_px,
                document_height_px: page.document_height_px,
                device: page.device,
                started_at_ms: page.started_at_ms,
                tags: &tags,
                visitor_key: page.visitor_key.as_deref(),
            },
            moves: &self.moves,
            clicks: &clicks,
            scrolls: &self.scrolls,
            resizes: &self.resizes,
        })
    }

    /// Returns the time of the stream's first event (each list is in time order), or 0 if it
    /// has none.
    pub fn first_t_ms(&self) -> u32 {
        first_t_ms(&self.moves, &self.clicks, &self.scrolls, &self.resizes)
    }

    /// Returns the time of the stream's last event, or 0 if it has none.
    pub fn last_t_ms(&self) -> u32 {
        last_t_ms(&self.moves, &self.clicks, &self.scrolls, &self.resizes)
    }

    /// Returns the deepest page `y` the bottom of the viewport reached, starting at the fold.
    pub fn max_depth_px(&self) -> u32 {
        max_depth_px(self.page.viewport_height_px, &self.scrolls, &self.resizes)
    }
}

/// An event with a time: what the owned and borrowed streams' time queries need of each kind.
trait Timed {
    fn t_ms(&self) -> u32;
}

macro_rules! timed {
    ($($kind:ty),*) => {
        $(impl Timed for $kind {
            fn t_ms(&self) -> u32 {
                self.t_ms
            }
        })*
    };
}

timed!(Move, Click, ClickRef<'_>, Scroll, Resize);

fn first_t_ms(
    moves: &[Move],
    clicks: &[impl Timed],
    scrolls: &[Scroll],
    resizes: &[Resize],
) -> u32 {
    [
        moves.first().map(Timed::t_ms),
        clicks.first().map(Timed::t_ms),
        scrolls.first().map(Timed::t_ms),
        resizes.first().map(Timed::t_ms),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(0)
}

fn last_t_ms(moves: &[Move], clicks: &[impl Timed], scrolls: &[Scroll], resizes: &[Resize]) -> u32 {
    // A loop per kind (rather than one over the chained kinds) lets the compiler vectorize the
    // moves', which are most of a stream's events.
    latest(moves)
        .max(latest(clicks))
        .max(latest(scrolls))
        .max(latest(resizes))
}

/// Returns the latest time among `events`, or 0 if there are none.
fn latest(events: &[impl Timed]) -> u32 {
    events
        .iter()
        .fold(0, |latest, event| latest.max(event.t_ms()))
}

fn max_depth_px(viewport_height_px: u32, scrolls: &[Scroll], resizes: &[Resize]) -> u32 {
    let mut viewport_height = viewport_height_px;
    let mut deepest = viewport_height;
    let mut resizes = resizes.iter().peekable();
    for scroll in scrolls {
        while let Some(resize) = resizes.next_if(|r| r.t_ms <= scroll.t_ms) {
            viewport_height = resize.height_px;
        }
        let bottom = i64::from(scroll.y.max(0)) + i64::from(viewport_height);
        deepest = deepest.max(u32::try_from(bottom).unwrap_or(u32::MAX));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_stream_round_trips_to_the_owned_one() {
        let stream = Stream {
            session_id: "s".into(),
            batch_seq: 4,
            page_view_index: 1,
            page: PageView {
                url: "https://a.example/".into(),
                viewport_width_px: 1280,
                viewport_height_px: 800,
                document_width_px: 1280,
                document_height_px: 4000,
                device: DeviceClass::Desktop,
                started_at_ms: 7,
                tags: vec![("variant".into(), "B".into())],
                visitor_key: Some("0123456789abcdef0123456789abcdef".into()),
            },
            moves: vec![Move {
                t_ms: 5,
                x: 1,
                y: 2,
            }],
            clicks: vec![Click {
                t_ms: 9,
                x: 3,
                y: 4,
                selector: "#a".into(),
                inside: None,
                reaction: ClickReaction::DomChanged,
            }],
            scrolls: vec![Scroll { t_ms: 3, y: 100 }],
            resizes: vec![],
        };
        assert_eq!(stream.with_ref(|s| s.to_stream()), stream);
        assert_eq!((stream.first_t_ms(), stream.last_t_ms()), (3, 9));
        assert_eq!(stream.max_depth_px(), 900);
    }
}

//! A session's recording put back together: the events of its blocks in time order, written
//! as the JSON array rrweb's player takes, and the page views the Meta events start.

use super::{META_EVENT, ReplayEvent};

/// A page view of a recording, from its Meta event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedPageView {
    pub started_at_ms: i64,
    pub url: String,
    pub width_px: u64,
    pub height_px: u64,
}

/// Merges blocks (each in time order, given in time order of their first event) into one
/// sequence in time order; events of the same millisecond keep their block's order.
pub fn merge_blocks(blocks: Vec<Vec<ReplayEvent>>) -> Vec<ReplayEvent> {
    let mut events: Vec<ReplayEvent> = blocks.into_iter().flatten().collect();
    events.sort_by_key(|event| event.at_ms);
    events
}

/// Writes events as one JSON array (each event's text is already JSON).
pub fn json_array(events: &[ReplayEvent]) -> String {
    let len = events.iter().map(|e| e.json.len() + 1).sum::<usize>() + 2;
    let mut out = String::with_capacity(len);
    out.push('[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&event.json);
    }
    out.push(']');
    out
}

/// Returns the page views the recording's Meta events start, in order. A Meta event that does
/// not parse is left out.
pub fn page_views(events: &[ReplayEvent]) -> Vec<RecordedPageView> {
    #[derive(serde::Deserialize)]
    struct Meta {
        data: MetaData,
    }
    #[derive(serde::Deserialize)]
    struct MetaData {
        #[serde(default)]
        href: String,
        #[serde(default)]
        width: u64,
        #[serde(default)]
        height: u64,
    }
    events
        .iter()
        .filter(|event| event.kind == META_EVENT)
        .filter_map(|event| {
            let meta: Meta = serde_json::from_str(&event.json).ok()?;
            Some(RecordedPageView {
                started_at_ms: event.at_ms,
                url: meta.data.href,
                width_px: meta.data.width,
                height_px: meta.data.height,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: i64, kind: u8, json: &str) -> ReplayEvent {
        ReplayEvent {
            at_ms,
            kind,
            json: json.into(),
        }
    }

    #[test]
    fn blocks_merge_in_time_order_into_one_array_with_their_page_views() {
        let meta = r#"{"type":4,"data":{"href":"https://x.test/a","width":800,"height":600},"timestamp":5}"#;
        let merged = merge_blocks(vec![
            vec![event(5, 4, meta), event(9, 3, "{\"n\":3}")],
            vec![event(7, 3, "{\"n\":2}"), event(9, 3, "{\"n\":4}")],
        ]);
        let array = json_array(&merged);
        let parsed: serde_json::Value = serde_json::from_str(&array).expect("valid JSON");
        assert_eq!(parsed.as_array().map(Vec::len), Some(4));
        assert_eq!(
            array,
            format!("[{meta},{{\"n\":2}},{{\"n\":3}},{{\"n\":4}}]")
        );
        assert_eq!(
            page_views(&merged),
            [RecordedPageView {
                started_at_ms: 5,
                url: "https://x.test/a".into(),
                width_px: 800,
                height_px: 600,
            }]
        );
        assert_eq!(json_array(&[]), "[]");
    }
}

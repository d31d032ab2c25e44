//! The exported files' Parquet schemas. Times are UTC milliseconds (`TIMESTAMP(MILLIS, true)`),
//! durations are milliseconds, `date` is the processed day. A column is added at the end only,
//! so that queries written against an older export keep working.

/// `sessions.parquet`: one row per session of the day, in the session index's order (start
/// time, then id).
pub const SESSIONS: &str = "
message sessions {
  required binary site (STRING);
  required int32 date (DATE);
  required binary session_id (STRING);
  optional binary visitor_key (STRING);
  required int64 started_at (TIMESTAMP(MILLIS, true));
  required int64 duration_ms;
  required int64 active_ms;
  required binary device (STRING);
  required int32 page_view_count;
  required group pages (LIST) {
    repeated group list {
      required binary element (STRING);
    }
  }
  required int64 clicks;
  required int64 moves;
  required int64 scrolls;
  required int64 rage_clicks;
  required int64 dead_clicks;
  required int64 excessive_scrolls;
  required int64 quick_backs;
  required group tags (MAP) {
    repeated group key_value {
      required binary key (STRING);
      required binary value (STRING);
    }
  }
}";

/// `page_views.parquet`: one row per page view, sessions in the order of `sessions.parquet`,
/// each session's page views in the order they were opened. `scroll_depth_percent` is null
/// where the page's height was never reported.
pub const PAGE_VIEWS: &str = "
message page_views {
  required binary site (STRING);
  required int32 date (DATE);
  required binary session_id (STRING);
  optional binary visitor_key (STRING);
  required int32 page_view_index;
  required binary url (STRING);
  required binary page_key (STRING);
  required int64 started_at (TIMESTAMP(MILLIS, true));
  required int64 duration_ms;
  required int64 active_ms;
  required int32 max_depth_px;
  required int32 document_height_px;
  optional double scroll_depth_percent;
  required int64 rage_clicks;
  required int64 dead_clicks;
  required int64 excessive_scrolls;
  required int64 quick_backs;
}";

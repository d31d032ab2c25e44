//! Counters of what the collector does, served at `GET /metrics` in the Prometheus text format:
//! batches and events accepted, batches rejected by reason, log bytes not yet stored, and
//! segment uploads (count, failures, latency).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use warp::http::StatusCode;

/// Upper bounds of the upload-latency histogram, in seconds.
const UPLOAD_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Why batches are rejected, one counter each. An answer counts under the reason it carries
/// ([`RefusalReason`]), else under the first reason of its status.
const REASONS: [(u16, &str); 12] = [
    (400, "malformed"),
    (403, "origin_not_allowed"),
    (404, "unknown_site"),
    (411, "length_required"),
    (413, "too_large"),
    (415, "unsupported_type_or_encoding"),
    (429, "rate_limited"),
    (503, "log_full"),
    (503, "log_write_failed"),
    (503, "store_unavailable"),
    (507, "disk_full"),
    (0, "other"),
];

/// The reason a refusal is counted under, attached to the response by the route that refused;
/// one of the names in [`REASONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalReason(pub &'static str);

/// The collector's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    batches_accepted: AtomicU64,
    events_accepted: AtomicU64,
    rejected: [AtomicU64; REASONS.len()],
    pub(crate) segments_stored: AtomicU64,
    pub(crate) chunks_stored: AtomicU64,
    pub(crate) upload_failures: AtomicU64,
    upload_buckets: [AtomicU64; UPLOAD_BUCKETS_S.len()],
    upload_count: AtomicU64,
    upload_micros: AtomicU64,
}

impl Metrics {
    /// Counts an answered batch request by its reason (when it carries one) or its status.
    pub fn record_answer(
        &self,
        status: StatusCode,
        reason: Option<RefusalReason>,
        num_events: usize,
    ) {
        if status.is_success() {
            self.batches_accepted.fetch_add(1, Ordering::Relaxed);
            self.events_accepted
                .fetch_add(num_events as u64, Ordering::Relaxed);
            return;
        }
        let by_reason = reason
            .and_then(|RefusalReason(name)| REASONS.iter().position(|(_, known)| *known == name));
        let index = by_reason
            .or_else(|| {
                REASONS
                    .iter()
                    .position(|(code, _)| *code == status.as_u16())
            })
            .unwrap_or(REASONS.len() - 1);
        self.rejected[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one successful segment upload that took `elapsed`.
    pub fn record_upload(&self, elapsed: Duration, chunks: usize) {
        self.segments_stored.fetch_add(1, Ordering::Relaxed);
        self.chunks_stored
            .fetch_add(chunks as u64, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.upload_buckets.iter().zip(UPLOAD_BUCKETS_S) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.upload_count.fetch_add(1, Ordering::Relaxed);
        self.upload_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Renders every counter in the Prometheus text format.
    pub fn render(&self, log_pending_bytes: u64) -> String {
        let mut out = Exposition::default();
        self.render_batches(&mut out);
        out.single(
            "heatpipe_collector_log_pending_bytes",
            "gauge",
            "Bytes in the write-ahead log not yet stored.",
            log_pending_bytes,
        );
        self.render_uploads(&mut out);
        out.text
    }

    /// Batches and events accepted, batches rejected by reason.
    fn render_batches(&self, out: &mut Exposition) {
        out.single(
            "heatpipe_collector_batches_accepted_total",
            "counter",
            "Batches acknowledged (durable in the log).",
            load(&self.batches_accepted),
        );
        out.single(
            "heatpipe_collector_events_accepted_total",
            "counter",
            "Events in acknowledged batches.",
            load(&self.events_accepted),
        );
        let rejected: Vec<(String, u64)> = REASONS
            .iter()
            .zip(&self.rejected)
            .map(|((_, reason), n)| (format!("{{reason=\"{reason}\"}}"), load(n)))
            .collect();
        out.family(
            "heatpipe_collector_batches_rejected_total",
            "counter",
            "Batches refused, by reason.",
            &rejected,
        );
    }

    /// Segments and chunks stored, failed uploads, and the upload-latency histogram.
    fn render_uploads(&self, out: &mut Exposition) {
        out.single(
            "heatpipe_collector_segments_stored_total",
            "counter",
            "Log segments stored as chunks and deleted.",
            load(&self.segments_stored),
        );
        out.single(
            "heatpipe_collector_chunks_stored_total",
            "counter",
            "Chunks written to the store.",
            load(&self.chunks_stored),
        );
        out.single(
            "heatpipe_collector_upload_failures_total",
            "counter",
            "Segment uploads that failed (and were retried).",
            load(&self.upload_failures),
        );
        let mut histogram: Vec<(String, u64)> = UPLOAD_BUCKETS_S
            .iter()
            .zip(&self.upload_buckets)
            .map(|(bound, n)| (format!("_bucket{{le=\"{bound}\"}}"), load(n)))
            .collect();
        histogram.push(("_bucket{le=\"+Inf\"}".into(), load(&self.upload_count)));
        histogram.push(("_count".into(), load(&self.upload_count)));
        out.family(
            "heatpipe_collector_upload_seconds",
            "histogram",
            "Time to store one log segment.",
            &histogram,
        );
        let sum_s = load(&self.upload_micros) as f64 / 1e6;
        out.text
            .push_str(&format!("heatpipe_collector_upload_seconds_sum {sum_s}\n"));
    }
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Text in the Prometheus exposition format, one metric family at a time.
#[derive(Debug, Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// Writes a family's `HELP` and `TYPE` lines, then one sample per `(suffix and labels, value)`.
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(self.text, "{name}{labels} {value}");
        }
    }

    /// Writes a family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.family(name, kind, help, &[(String::new(), value)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_reason_and_rendered() {
        let metrics = Metrics::default();
        metrics.record_answer(StatusCode::OK, None, 7);
        metrics.record_answer(StatusCode::BAD_REQUEST, None, 0);
        metrics.record_answer(StatusCode::BAD_REQUEST, None, 0);
        metrics.record_answer(StatusCode::TOO_MANY_REQUESTS, None, 0);
        metrics.record_answer(StatusCode::SERVICE_UNAVAILABLE, None, 0);
        let write_failed = Some(RefusalReason("log_write_failed"));
        metrics.record_answer(StatusCode::SERVICE_UNAVAILABLE, write_failed, 0);
        metrics.record_answer(StatusCode::SERVICE_UNAVAILABLE, write_failed, 0);
        metrics.record_answer(StatusCode::INSUFFICIENT_STORAGE, None, 0);
        metrics.record_upload(Duration::from_millis(30), 2);
        let text = metrics.render(1234);
        for line in [
            "heatpipe_collector_batches_accepted_total 1",
            "heatpipe_collector_events_accepted_total 7",
            "heatpipe_collector_batches_rejected_total{reason=\"malformed\"} 2",
            "heatpipe_collector_batches_rejected_total{reason=\"rate_limited\"} 1",
            "heatpipe_collector_batches_rejected_total{reason=\"log_full\"} 1",
            "heatpipe_collector_batches_rejected_total{reason=\"log_write_failed\"} 2",
            "heatpipe_collector_batches_rejected_total{reason=\"disk_full\"} 1",
            "heatpipe_collector_log_pending_bytes 1234",
            "heatpipe_collector_upload_seconds_bucket{le=\"0.025\"} 0",
            "heatpipe_collector_upload_seconds_bucket{le=\"0.05\"} 1",
            "heatpipe_collector_upload_seconds_count 1",
            "heatpipe_collector_chunks_stored_total 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}

//! Steady load for soak tests: clients posting valid native batches with unique session ids to
//! whichever collector is up, recording each batch's answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::target::Target;

/// Clicks in each batch of [`batch`].
pub const CLICKS_PER_BATCH: u64 = 3;

/// A valid batch of session `session` on `site`: three clicks and 20 moves in a page view
/// started at `started_at` (ms).
pub fn batch(site: &str, session: &str, started_at: i64) -> Vec<u8> {
    let clicks: Vec<_> = (0..CLICKS_PER_BATCH)
        .map(|i| json!([100 * i, 50 + i, 60, "#buy"]))
        .collect();
    let moves: Vec<_> = (0..20).map(|i| json!([10 * i, 5 * i, 7 * i])).collect();
    serde_json::to_vec(&json!({
        "site": site, "session": session, "seq": 0,
        "page": {"url": format!("https://{site}.example/"), "viewport": [1280, 800], "started_at": started_at},
        "clicks": clicks, "moves": moves
    }))
    .expect("json")
}

/// What the collectors answered, batch by batch.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Sessions whose batch was answered 200.
    pub acknowledged: BTreeSet<String>,
    /// Sessions whose batch was refused, by status (503 and 507, each with Retry-After and a
    /// JSON message).
    pub refused: BTreeMap<u16, BTreeSet<String>>,
    /// Refusals by status and message.
    pub reasons: BTreeMap<(u16, String), usize>,
    /// Sessions whose request got no answer because its process was killed or stopped.
    pub unanswered: BTreeSet<String>,
    /// Anything else: another status, a refusal without Retry-After or JSON, no answer from a
    /// process that stayed up.
    pub unexpected: Vec<String>,
}

impl Ledger {
    /// Records the answer to the batch of `session`; `still_up`: its process was up throughout.
    fn record(&mut self, session: String, answer: Result<Answer, String>, still_up: bool) {
        match answer {
            Ok(Answer::Acknowledged) => {
                self.acknowledged.insert(session);
            }
            Ok(Answer::Refused(status, message)) => {
                self.refused.entry(status).or_default().insert(session);
                *self.reasons.entry((status, message)).or_default() += 1;
            }
            Err(_) if !still_up => {
                self.unanswered.insert(session);
            }
            Err(problem) => {
                self.unexpected.push(format!("{session}: {problem}"));
                self.unanswered.insert(session);
            }
        }
    }

    /// Batches refused with `status`.
    pub fn num_refused(&self, status: u16) -> usize {
        self.refused.get(&status).map_or(0, BTreeSet::len)
    }
}

/// One load client.
pub struct Client {
    pub name: String,
    pub site: &'static str,
    pub started_at: i64,
    /// Pause between two batches.
    pub pause: Duration,
}

impl Client {
    /// Posts batches `{name}-0`, `{name}-1`… until `stop` is set.
    pub async fn run(self, target: Arc<Target>, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut next = 0;
        while !stop.load(Ordering::Relaxed) {
            let Some(up) = target.current() else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let session = format!("{}-{next}", self.name);
            next += 1;
            let sent = http
                .post(format!("{}/v1/collect", up.url))
                .header("content-type", "application/json")
                .body(batch(self.site, &session, self.started_at))
                .send()
                .await;
            let answer = match sent {
                Ok(response) => Answer::read(response).await,
                Err(err) => Err(format!("no answer: {err}")),
            };
            let still_up = target.still(&up);
            ledger
                .lock()
                .expect("lock")
                .record(session, answer, still_up);
            tokio::time::sleep(self.pause).await;
        }
    }
}

enum Answer {
    Acknowledged,
    Refused(u16, String),
}

impl Answer {
    /// 200, or a 503/507 with Retry-After and a JSON message; anything else is an error.
    async fn read(response: reqwest::Response) -> Result<Answer, String> {
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(Answer::Acknowledged);
        }
        let retry_after = response.headers().contains_key("retry-after");
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|err| format!("{status} without a JSON body: {err}"))?;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        match status {
            503 | 507 if retry_after && !message.is_empty() => {
                Ok(Answer::Refused(status, short(message)))
            }
            _ => Err(format!("{status} {body}")),
        }
    }
}

/// The message without its details after a colon, so that refusals group by reason.
fn short(message: &str) -> String {
    message.split(':').next().unwrap_or(message).to_owned()
}

//! [`RetryStore`]: any store, its passing failures retried. Cross-cutting, so a wrapper rather
//! than a flag on each backend (quickwit's `TimeoutAndRetryStorage` habit).
//!
//! An operation whose error is transient ([`StoreErrorKind::is_transient`]: the store timed out
//! or could not answer) is tried again after an exponential delay with jitter, until it succeeds,
//! its attempts run out or the time budget is spent; then the last error is returned with its
//! kind intact, so a caller still tells `Timeout` and `Unavailable` from `NotFound`. Every other
//! error is returned at once. An attempt that does not answer within its timeout is abandoned and
//! counts as a `Timeout`, so a hung connection is retried like any other.
//!
//! Retrying is safe because every operation is idempotent: a put writes the whole object (a
//! put that timed out but landed is written again with the same bytes), a delete of a missing key
//! succeeds, reads change nothing.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rand::Rng;
use tokio::time::Instant;

use super::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult};

/// How a [`RetryStore`] retries. The defaults suit a batch job against S3: an operation gives up
/// about a minute after its first failure (plus one attempt's timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySettings {
    /// Delay before the first retry; each further retry waits twice as long, up to
    /// `max_delay_ms`. Each delay is drawn between half of that and all of it (jitter), so that
    /// operations failing together do not retry together.
    pub first_delay_ms: u64,
    /// The longest delay between two attempts.
    pub max_delay_ms: u64,
    /// No retry starts once this long has passed since the first attempt started (nor waits past
    /// it): the time one operation may spend on a store that keeps failing.
    pub budget_ms: u64,
    /// The most attempts of one operation, the first included.
    pub max_attempts: u32,
    /// An attempt that has not answered within this long is abandoned as a `Timeout`…
    pub attempt_timeout_ms: u64,
    /// …plus this long per MiB it writes or asks for (puts and ranged reads), so that a large
    /// object on a slow link is not cut off: the default allows 1 MiB/s.
    pub attempt_timeout_ms_per_mib: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            first_delay_ms: 100,
            max_delay_ms: 5_000,
            budget_ms: 60_000,
            max_attempts: 40,
            attempt_timeout_ms: 60_000,
            attempt_timeout_ms_per_mib: 1_000,
        }
    }
}

impl RetrySettings {
    /// The timeout of one attempt that moves `size_bytes` (0 when unknown).
    fn attempt_timeout(&self, size_bytes: u64) -> Duration {
        let per_mib = self
            .attempt_timeout_ms_per_mib
            .saturating_mul(size_bytes.div_ceil(1 << 20));
        Duration::from_millis(self.attempt_timeout_ms.saturating_add(per_mib))
    }

    /// The delay before retry number `retry` (1 for the first), before jitter.
    fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(63);
        let delay_ms = self
            .first_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_ms);
        Duration::from_millis(delay_ms)
    }
}

/// Draws a delay between half of `backoff` and all of it.
fn with_jitter(backoff: Duration) -> Duration {
    let full_ms = backoff.as_millis() as u64;
    let half_ms = full_ms / 2;
    Duration::from_millis(half_ms + rand::rng().random_range(0..=full_ms - half_ms))
}

/// A store that retries the transient failures of the store it wraps (see the module's doc).
#[derive(Debug, Clone)]
pub struct RetryStore {
    inner: Arc<dyn ObjectStore>,
    settings: RetrySettings,
}

impl RetryStore {
    /// Wraps `inner`, retrying as `settings` say.
    pub fn new(inner: Arc<dyn ObjectStore>, settings: RetrySettings) -> Self {
        RetryStore { inner, settings }
    }

    /// Returns how this store retries.
    pub fn settings(&self) -> &RetrySettings {
        &self.settings
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts or the budget run out;
    /// each attempt is abandoned as a `Timeout` after `timeout`.
    async fn retry<T, F, Fut>(
        &self,
        operation: &'static str,
        key: &str,
        timeout: Duration,
        mut attempt: F,
    ) -> StoreResult<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = StoreResult<T>> + Send,
    {
        let started = Instant::now();
        let budget = Duration::from_millis(self.settings.budget_ms);
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let outcome = match tokio::time::timeout(timeout, attempt()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    operation,
                    key,
                    format!("no answer within {} ms", timeout.as_millis()),
                )),
            };
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) if !err.kind.is_transient() => return Err(err),
                Err(err) => err,
            };
            let delay = with_jitter(self.settings.backoff(attempts));
            let out_of_attempts = attempts >= self.settings.max_attempts;
            if out_of_attempts || started.elapsed() + delay > budget {
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::warn!(
                    operation,
                    key,
                    attempts,
                    kind = ?err.kind,
                    elapsed_ms,
                    error = %err.message,
                    "store operation failed; giving up"
                );
                return Err(gave_up(err, attempts, elapsed_ms));
            }
            tracing::warn!(
                operation,
                key,
                attempt = attempts,
                kind = ?err.kind,
                delay_ms = delay.as_millis() as u64,
                error = %err.message,
                "store operation failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// The last error of an operation given up, its kind kept, saying how long it was tried.
fn gave_up(mut err: StoreError, attempts: u32, elapsed_ms: u64) -> StoreError {
    if attempts > 1 {
        err.message = format!(
            "{} (gave up after {attempts} attempts in {elapsed_ms} ms)",
            err.message
        );
    }
    err
}

#[async_trait]
impl ObjectStore for RetryStore {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        let timeout = self.settings.attempt_timeout(bytes.len() as u64);
        self.retry("put", key, timeout, || self.inner.put(key, bytes.clone()))
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Bytes> {
        let timeout = self.settings.attempt_timeout(0);
        self.retry("get", key, timeout, || self.inner.get(key))
            .await
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes> {
        let timeout = self
            .settings
            .attempt_timeout(range.end.saturating_sub(range.start));
        self.retry("get_range", key, timeout, || {
            self.inner.get_range(key, range.clone())
        })
        .await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let timeout = self.settings.attempt_timeout(0);
        self.retry("list", prefix, timeout, || self.inner.list(prefix))
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let timeout = self.settings.attempt_timeout(0);
        self.retry("delete", key, timeout, || self.inner.delete(key))
            .await
    }

    fn identity(&self) -> String {
        self.inner.identity()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    /// A memory store whose reads fail `failures` times with `kind` (or, with `hang`, never
    /// answer), then succeed; it counts the attempts.
    #[derive(Debug)]
    struct FlakyStore {
        inner: MemoryStore,
        kind: StoreErrorKind,
        failures: AtomicU32,
        hang: bool,
        attempts: AtomicU32,
        attempted_at: Mutex<Vec<Instant>>,
    }

    impl FlakyStore {
        fn new(times: u32, kind: StoreErrorKind, hang: bool) -> Arc<Self> {
            Arc::new(FlakyStore {
                inner: MemoryStore::new(),
                kind,
                failures: AtomicU32::new(times),
                hang,
                attempts: AtomicU32::new(0),
                attempted_at: Mutex::new(Vec::new()),
            })
        }

        fn failing(times: u32, kind: StoreErrorKind) -> Arc<Self> {
            Self::new(times, kind, false)
        }

        fn hanging(times: u32) -> Arc<Self> {
            Self::new(times, StoreErrorKind::Timeout, true)
        }

        fn attempts(&self) -> u32 {
            self.attempts.load(Ordering::SeqCst)
        }

        async fn attempt(&self, operation: &'static str, key: &str) -> StoreResult<()> {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            self.attempted_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Instant::now());
            let failed = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            match (failed, self.hang) {
                (false, _) => Ok(()),
                (true, true) => std::future::pending().await,
                (true, false) => Err(StoreError::new(self.kind, operation, key, "injected")),
            }
        }
    }

    #[async_trait]
    impl ObjectStore for FlakyStore {
        async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
            self.attempt("put", key).await?;
            self.inner.put(key, bytes).await
        }
        async fn get(&self, key: &str) -> StoreResult<Bytes> {
            self.attempt("get", key).await?;
            self.inner.get(key).await
        }
        async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes> {
            self.attempt("get_range", key).await?;
            self.inner.get_range(key, range).await
        }
        async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
            self.attempt("list", prefix).await?;
            self.inner.list(prefix).await
        }
        async fn delete(&self, key: &str) -> StoreResult<()> {
            self.attempt("delete", key).await?;
            self.inner.delete(key).await
        }
        fn identity(&self) -> String {
            self.inner.identity()
        }
    }

    async fn with_object(flaky: &Arc<FlakyStore>) {
        flaky
            .inner
            .put("raw/a.hpc", Bytes::from_static(b"chunk"))
            .await
            .expect("put");
    }

    fn retrying(flaky: &Arc<FlakyStore>) -> RetryStore {
        RetryStore::new(flaky.clone(), RetrySettings::default())
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_the_store_answers() {
        for kind in [StoreErrorKind::Unavailable, StoreErrorKind::Timeout] {
            let flaky = FlakyStore::failing(4, kind);
            with_object(&flaky).await;
            let store = retrying(&flaky);
            let bytes = store
                .get("raw/a.hpc")
                .await
                .expect("retried until it works");
            assert_eq!(bytes, Bytes::from_static(b"chunk"));
            assert_eq!(flaky.attempts(), 5, "{kind:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn delays_double_from_the_first_with_jitter_up_to_the_cap() {
        let flaky = FlakyStore::failing(9, StoreErrorKind::Unavailable);
        with_object(&flaky).await;
        retrying(&flaky).get("raw/a.hpc").await.expect("retried");
        let times = flaky
            .attempted_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let delays_ms: Vec<u64> = times
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis() as u64)
            .collect();
        let full_ms = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000];
        assert_eq!(delays_ms.len(), full_ms.len());
        for (delay_ms, full_ms) in delays_ms.iter().zip(full_ms) {
            assert!(
                (full_ms / 2..=full_ms).contains(delay_ms),
                "{delays_ms:?} against {full_ms}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_keeps_failing_is_given_up_on_within_the_budget_with_its_kind() {
        for kind in [StoreErrorKind::Unavailable, StoreErrorKind::Timeout] {
            let flaky = FlakyStore::failing(u32::MAX, kind);
            let store = retrying(&flaky);
            let started = Instant::now();
            let err = store
                .put("raw/a.hpc", Bytes::from_static(b"x"))
                .await
                .expect_err("never answers");
            let elapsed = started.elapsed();
            assert_eq!(err.kind, kind, "{err}");
            assert_eq!((err.operation, err.key.as_str()), ("put", "raw/a.hpc"));
            assert!(err.message.contains("gave up after"), "{err}");
            // No delay ends past the budget, and none is longer than 5 s: it gives up in the
            // minute's last 5 s, after 17 (every delay drawn at its longest) to 29 attempts
            // (every delay at half), short of the 40 allowed.
            assert!(elapsed <= Duration::from_secs(60), "{elapsed:?}");
            assert!(elapsed > Duration::from_secs(55), "{elapsed:?}");
            let attempts = flaky.attempts();
            assert!((17..=29).contains(&attempts), "{attempts}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_run_out_before_the_budget_when_few_are_allowed() {
        let flaky = FlakyStore::failing(u32::MAX, StoreErrorKind::Unavailable);
        let settings = RetrySettings {
            max_attempts: 3,
            ..RetrySettings::default()
        };
        let err = RetryStore::new(flaky.clone(), settings)
            .list("raw/")
            .await
            .expect_err("keeps failing");
        assert_eq!(err.kind, StoreErrorKind::Unavailable);
        assert_eq!(flaky.attempts(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_that_are_not_transient_are_returned_at_once() {
        for kind in [
            StoreErrorKind::NotFound,
            StoreErrorKind::InvalidKey,
            StoreErrorKind::Unauthorized,
            StoreErrorKind::Io,
        ] {
            let flaky = FlakyStore::failing(1, kind);
            with_object(&flaky).await;
            let store = retrying(&flaky);
            let started = Instant::now();
            let err = store.get("raw/a.hpc").await.expect_err("not retried");
            assert_eq!(err.kind, kind);
            assert_eq!(err.message, "injected", "the message is the backend's");
            assert_eq!(flaky.attempts(), 1, "{kind:?}");
            assert_eq!(started.elapsed(), Duration::ZERO);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_object_is_never_retried() {
        let flaky = FlakyStore::failing(0, StoreErrorKind::Io);
        let err = retrying(&flaky)
            .get("raw/missing.hpc")
            .await
            .expect_err("missing");
        assert_eq!(err.kind, StoreErrorKind::NotFound);
        assert_eq!(flaky.attempts(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_hangs_is_abandoned_as_a_timeout_and_retried() {
        let flaky = FlakyStore::hanging(2);
        with_object(&flaky).await;
        let settings = RetrySettings {
            attempt_timeout_ms: 1_000,
            ..RetrySettings::default()
        };
        let store = RetryStore::new(flaky.clone(), settings.clone());
        let started = Instant::now();
        let bytes = store.get_range("raw/a.hpc", 1..3).await.expect("third try");
        assert_eq!(bytes, Bytes::from_static(b"hu"));
        assert_eq!(flaky.attempts(), 3);
        assert!(started.elapsed() >= Duration::from_millis(2_000));

        let hung = FlakyStore::hanging(u32::MAX);
        let settings = RetrySettings {
            max_attempts: 2,
            ..settings
        };
        let err = RetryStore::new(hung, settings)
            .delete("raw/a.hpc")
            .await
            .expect_err("hangs every time");
        assert_eq!(err.kind, StoreErrorKind::Timeout);
        assert!(err.message.contains("no answer within 1000 ms"), "{err}");
    }

    #[test]
    fn timeouts_grow_with_the_size_and_delays_double_up_to_the_cap() {
        let settings = RetrySettings::default();
        assert_eq!(settings.attempt_timeout(0), Duration::from_secs(60));
        assert_eq!(settings.attempt_timeout(1), Duration::from_secs(61));
        assert_eq!(settings.attempt_timeout(8 << 20), Duration::from_secs(68));
        assert_eq!(settings.backoff(1), Duration::from_millis(100));
        assert_eq!(settings.backoff(6), Duration::from_millis(3_200));
        assert_eq!(settings.backoff(7), Duration::from_millis(5_000));
        assert_eq!(settings.backoff(u32::MAX), Duration::from_millis(5_000));
    }
}

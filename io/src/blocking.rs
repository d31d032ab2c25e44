//! CPU work off the async runtime: decoding, encoding and merging run where blocking is allowed,
//! so that no tokio worker thread spends more than a moment per poll. [`on_rayon`] is for
//! work that is short and parallel (encoding a PNG, decoding an aggregate); [`on_blocking`] for
//! work that may take seconds or wait on files, which on the rayon pool would hold up the rest.

use std::future::Future;

/// A task handed to [`on_blocking`] panicked or was cancelled.
#[derive(Debug, Clone, thiserror::Error)]
#[error("worker task failed: {message}")]
pub struct TaskFailed {
    pub message: String,
}

/// Runs `work` on tokio's blocking pool (it may use rayon inside), started at once: the returned
/// future only waits for it, so a caller can start several and await them later.
pub fn on_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Result<T, TaskFailed>> {
    let task = tokio::task::spawn_blocking(work);
    async move {
        task.await.map_err(|err| TaskFailed {
            message: err.to_string(),
        })
    }
}

/// Runs `work` on the rayon pool and waits for it without blocking the async runtime. A panic
/// in `work` is a [`TaskFailed`] (on a bare `rayon::spawn` it would abort the process).
pub async fn on_rayon<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskFailed> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        // The receiver is gone only if the caller stopped waiting; the result is then unwanted.
        let _ = sender.send(outcome);
    });
    match receiver.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(TaskFailed {
            message: panic_message(panic.as_ref()),
        }),
        Err(_) => Err(TaskFailed {
            message: "a rayon task stopped without a result".into(),
        }),
    }
}

/// Returns what a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let said = panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned());
    match said {
        Some(message) => format!("panicked: {message}"),
        None => "panicked".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_starts_before_it_is_awaited() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let pending = on_blocking(move || sender.send(7).is_ok());
        // The work runs without the future being polled: the value arrives first.
        let value = tokio::task::spawn_blocking(move || {
            receiver
                .recv_timeout(std::time::Duration::from_secs(10))
                .ok()
        })
        .await
        .ok()
        .flatten();
        assert_eq!(value, Some(7));
        assert!(matches!(pending.await, Ok(true)));
    }

    #[tokio::test]
    async fn a_panicking_task_is_an_error() {
        let outcome = on_blocking(|| -> u8 { panic!("boom") }).await;
        assert!(outcome.is_err());
        let outcome = on_rayon(|| -> u8 { panic!("boom") }).await;
        assert_eq!(
            outcome.err().map(|err| err.message),
            Some("panicked: boom".to_owned())
        );
    }

    #[tokio::test]
    async fn rayon_work_returns_its_value() {
        assert_eq!(on_rayon(|| 6 * 7).await.ok(), Some(42));
    }
}

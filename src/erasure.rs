//! The read side's [`Eraser`]: the processor's `forget` on the served store, processing affected
//! days again with the served configuration, so that `DELETE /api/sites/{site}/sessions/{id}`
//! does what `heatpipe forget` does.

use std::sync::Arc;

use heatpipe_io::store::ObjectStore;
use heatpipe_processor::ProcessorConfig;
use heatpipe_processor::erase::{EraseError, ErasureReport, Subject, forget, visitor_subject};
use heatpipe_renderer::erasure::{Eraser, ErasureFuture, ErasureTarget};
use heatpipe_renderer::error::RenderError;

/// Erases from `store`, processing days again with `processor`.
#[derive(Debug, Clone)]
pub struct StoreEraser {
    pub store: Arc<dyn ObjectStore>,
    pub processor: ProcessorConfig,
}

impl Eraser for StoreEraser {
    fn erase(&self, site: &str, target: ErasureTarget) -> ErasureFuture {
        let eraser = self.clone();
        let site = site.to_owned();
        Box::pin(async move {
            let report = erase_target(&eraser.store, &eraser.processor, &site, target, false)
                .await
                .map_err(render_error)?;
            let report = match report {
                Some(report) => report,
                None => return Ok(serde_json::json!({ "site": site, "removed": false })),
            };
            tracing::info!(
                %site,
                kind = report.kind,
                num_sessions = report.num_sessions,
                num_streams = report.raw.num_streams,
                "erased"
            );
            serde_json::to_value(&report)
                .map_err(|err| RenderError::Internal(format!("cannot encode the report: {err}")))
        })
    }
}

/// Runs `forget` for `target` (a visitor id hashed with the site's secret first); None when the
/// site has no visitor secret, so no visitor of it was ever identified.
pub async fn erase_target(
    store: &Arc<dyn ObjectStore>,
    processor: &ProcessorConfig,
    site: &str,
    target: ErasureTarget,
    dry_run: bool,
) -> Result<Option<ErasureReport>, EraseError> {
    let subject = match target {
        ErasureTarget::Session(id) => Subject::Session(id),
        ErasureTarget::Visitor(id) => match visitor_subject(store.as_ref(), site, &id).await? {
            Some(subject) => subject,
            None => return Ok(None),
        },
    };
    let report = forget(
        store.clone(),
        processor,
        site,
        &subject,
        dry_run,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Some(report))
}

fn render_error(err: EraseError) -> RenderError {
    match err {
        EraseError::Store(err) => RenderError::Store(err),
        EraseError::Format { .. }
        | EraseError::Encode(_)
        | EraseError::Process(_)
        | EraseError::Task(_)
        | EraseError::Audit(_) => RenderError::Internal(err.to_string()),
    }
}

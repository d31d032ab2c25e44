//! Erasure as the read side offers it (`DELETE /api/sites/{site}/sessions/{id}` and
//! `/visitors/{id}`, admin tokens): the renderer does not process data, so the erasure itself is
//! an [`Eraser`] the server that embeds the renderer installs (the `heatpipe` binary installs
//! one that runs the processor's `forget`). A read side without one answers `501`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::RenderResult;

/// Who a request erases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureTarget {
    /// One session, by id.
    Session(String),
    /// Every session of the visitor the site identified with this id (hashed by the eraser as
    /// the collector hashes it; never stored).
    Visitor(String),
}

/// What an erasure answers: its report as JSON.
pub type ErasureFuture = Pin<Box<dyn Future<Output = RenderResult<serde_json::Value>> + Send>>;

/// Erases a session or a visitor of a site from every lane, and reports what it removed.
pub trait Eraser: fmt::Debug + Send + Sync + 'static {
    /// Erases `target` from `site`; the report is the response body.
    fn erase(&self, site: &str, target: ErasureTarget) -> ErasureFuture;
}

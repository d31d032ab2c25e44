//! The dashboard, funnel and paths endpoints over hand-built sessions of two days, processed by
//! the real processor: every figure is the one worked out by hand below, and each figure's link
//! lists exactly the sessions behind it.
//!
//! `fixture` builds and serves the sessions; one module per endpoint holds its tests.

mod dashboard;
mod fixture;
mod funnel;
mod paths;

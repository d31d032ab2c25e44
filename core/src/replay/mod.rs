//! DOM session replay: what heatpipe keeps of an rrweb recording.
//!
//! Privacy is enforced twice: the browser's recorder masks, and the collector masks again,
//! whatever the client sent (a site may run its own rrweb with masking off). This module is the
//! collector's half, a pure library: [`mask::mask_batch`] turns one batch of rrweb events into
//! the events kept, by an allow-list (docs/privacy.md lists it exactly).
//!
//! # Layout
//! - [`mask`] — one batch of rrweb events masked: events, nodes, texts, attributes, URLs.
//! - [`selector`] — the small CSS selector matcher for a site's public elements.

pub mod mask;
pub mod selector;

pub use mask::{MaskReport, MaskRules, mask_batch};
pub use selector::SelectorError;

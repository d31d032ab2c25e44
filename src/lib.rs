//! The `heatpipe` command: glue between the collector, processor and renderer libraries —
//! configuration, the combined server, periodic processing, the demo, and the subcommands.
//!
//! # Layout
//! - [`cli`] — flags.
//! - [`config`] — `Config`, from defaults, file, environment and flags.
//! - [`server`] — collector + read API (+ demo site) on one port, and a test handle.
//! - [`periodic`] — processing every few seconds inside `serve` and `demo`.
//! - [`demo_site`] — the demo pages at `/demo/`.
//! - [`erasure`] — the read side's eraser: the processor's `forget` on the served store.
//! - [`commands`] — one module per subcommand.

// The combined server's warp filter chain is deeper than the default type recursion limit.
#![recursion_limit = "256"]

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo_site;
pub mod erasure;
pub mod periodic;
pub mod server;

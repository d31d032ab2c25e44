//! The read side as someone without the right token meets it, over HTTP on a real server: every
//! read route (and so every data call of the viewer) refuses a request with no token, a wrong
//! one or a revoked one (401 JSON with `WWW-Authenticate: Bearer`), a read token on an admin
//! route (403 JSON), and answers valid tokens; share links open one heatmap or one replay
//! without a token until they expire, and any change to one is refused; with a separate read
//! listener, neither listener answers the other's routes.
//!
//! `fixture` holds the served day and the request helpers; one module per part of the read
//! side holds its tests.

mod fixture;
mod listeners;
mod routes;
mod share_links;

//! heatpipe-web: the browser libraries heatpipe serves, from the npm registry (pinned in
//! `web/package.json`, with integrity hashes in its lockfile), bundled with esbuild when the
//! crate is built and embedded here, so that one binary serves them with no network and no copy
//! of third-party code in the repository. Building needs Node.js and npm (the build says so
//! clearly when they are missing).
//!
//! # Layout
//! - `build.rs` — `npm ci` in the build folder, one esbuild bundle per entry of `js/`, the style
//!   sheets and the licence notices.
//! - `js/` — the entries: each puts one library on `window` for heatpipe's own scripts.

/// rrweb's recorder (`window.heatpipeRrwebRecord`), the first part of `/t-replay.js`.
pub const RECORD_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/record.js"));
/// rrweb's replayer (`window.heatpipeRrwebReplayer`), for the viewer's player.
pub const REPLAY_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/replay.js"));
/// The replayer's style sheet.
pub const REPLAY_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/replay.css"));
/// uPlot (`window.uPlot`), for the viewer's charts.
pub const CHARTS_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/charts.js"));
/// uPlot's style sheet.
pub const CHARTS_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/charts.css"));
/// The name, version, licence and licence text of every package embedded above.
pub const LICENSES_TXT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dist/licenses.txt"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_is_built_and_its_licence_noted() {
        for (name, bytes) in [
            ("record", RECORD_JS),
            ("replay", REPLAY_JS),
            ("charts", CHARTS_JS),
        ] {
            assert!(bytes.len() > 10_000, "{name} is {} bytes", bytes.len());
        }
        let record = String::from_utf8_lossy(RECORD_JS);
        assert!(record.contains("heatpipeRrwebRecord"));
        assert!(String::from_utf8_lossy(REPLAY_JS).contains("heatpipeRrwebReplayer"));
        assert!(String::from_utf8_lossy(CHARTS_JS).contains("uPlot"));
        assert!(String::from_utf8_lossy(REPLAY_CSS).contains(".replayer-wrapper"));
        let notices = String::from_utf8_lossy(LICENSES_TXT);
        for package in ["@rrweb/record", "@rrweb/replay", "uplot"] {
            assert!(
                notices.contains(&format!("==== {package} ")),
                "{package} not in the notices"
            );
        }
        assert!(notices.contains("MIT"));
    }
}

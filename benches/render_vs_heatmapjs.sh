#!/usr/bin/env bash
# A 1280 × 6000 click overlay of 100,000 clicks: heatpipe's renderer over HTTP (cold and cached)
# against heatmap.js drawing the same points on a canvas and encoding PNG in headless Chromium.
#   benches/render_vs_heatmapjs.sh [POINTS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d benches/browser/node_modules/heatmap.js ] || npm install --silent --prefix benches/browser
cargo build --release --quiet --bin render-vs-heatmapjs -p heatpipe-benches
target/release/render-vs-heatmapjs "${1:-100000}" "${2:-15}"

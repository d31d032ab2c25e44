#!/usr/bin/env bash
# DOM replay benchmarks: stored bytes per minute of recording against rrweb JSON + gzip, and
# replay start (first frame) of a 10-minute session against rrweb's Replayer alone, on sessions
# recorded in headless Chromium. Installs the browser side first.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --silent --prefix tests/browser
npm ci --silent --prefix benches/browser
cargo run --release -p heatpipe-benches --bin replay-storage -- "${@}"
cargo run --release -p heatpipe-benches --bin replay-start

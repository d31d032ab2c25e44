#!/usr/bin/env bash
# heatpipe process vs DuckDB on the same synthetic day (default 20 million events): generates the
# day once (chunks + zstd Parquet) under target/, runs both with 2 threads and with 1,
# checks that they computed the same grid cells and scroll depths, and prints the wall times.
# heatpipe is the shipped build (the dist profile, target/dist/heatpipe).
#   benches/vs_duckdb.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import duckdb' 2>/dev/null || pip install --quiet 'duckdb==2.0.0'
cargo build --profile dist --quiet --bin heatpipe -p heatpipe
cargo build --release --quiet --bin vs-duckdb -p heatpipe-benches
target/release/vs-duckdb "${1:-20000000}"

#!/usr/bin/env bash
# Prints the wall time and peak memory of `heatpipe process` on a generated day of fixture traffic.
#   benches/process_day.sh [SESSIONS]     (default 20000 sessions, about 2.3 million events)
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-20000}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
cargo build --profile dist --quiet --bin heatpipe
bin=target/dist/heatpipe
$bin fixtures --store "$data" --site bench --date 2026-11-21 --sessions "$sessions" --seed 7
du -sb "$data/raw" | awk '{printf "chunks on disk: %d bytes\n", $1}'
start=$(date +%s.%N)
/usr/bin/time -f "peak RSS: %M KiB" $bin process --store "$data" --site bench --date 2026-11-21
end=$(date +%s.%N)
echo "wall: $(echo "$end - $start" | bc) s on $(nproc) cores"

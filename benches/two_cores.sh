#!/usr/bin/env bash
# What a second busy core costs this machine: `heatpipe process` with 1 thread on the benchmark
# day of benches/vs_duckdb.sh, alone and then two copies at once (each on its own copy of the
# store), ROUNDS times. If two copies at once each take longer than one alone, that share of
# the 1→2 thread scaling is the machine's, not the processor's.
#   benches/two_cores.sh [ROUNDS]     (needs the day benches/vs_duckdb.sh generates)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
# Only days sealed as a collector seals them (their directory names the seal age).
day=$(ls -d target/bench-day-20000000-v*-g*-seal*s 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$day" ]; then
    echo "no benchmark day under target/: run benches/vs_duckdb.sh first" >&2
    exit 1
fi
cargo build --profile dist --quiet --bin heatpipe -p heatpipe
bin=target/dist/heatpipe
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r "$day/store" "$copy/store"
export RAYON_NUM_THREADS=1 TOKIO_WORKER_THREADS=1 RUST_LOG=warn
run() { # LABEL STORE: prints LABEL and the run's wall seconds
    /usr/bin/time -f "$1 %e" "$bin" process --site bench --date 2026-11-21 --store "$2" \
        2>&1 >/dev/null | tail -n 1
}
times="$copy/times"
for _ in $(seq "$rounds"); do
    run alone "$day/store" >>"$times"
    run pair "$day/store" >>"$times" &
    first=$!
    run pair "$copy/store" >>"$times"
    wait "$first"
done
awk '{ sum[$1] += $2; n[$1]++; all[$1] = all[$1] (all[$1] == "" ? "" : " ") $2 }
    END {
        printf "1 thread alone:        %s s (mean %.3f)\n", all["alone"], sum["alone"] / n["alone"]
        printf "1 thread, two at once: %s s (mean %.3f)\n", all["pair"], sum["pair"] / n["pair"]
        printf "second busy core costs each run %.1f%%\n", 100 * (sum["pair"] / n["pair"] / (sum["alone"] / n["alone"]) - 1)
    }' "$times"

#!/usr/bin/env bash
# Runs one cargo-fuzz target on one core until its coverage (libFuzzer's `cov:`, the code edges
# reached) has not grown for QUIET seconds, or until LIMIT seconds in all, and prints the final
# figures, with how many inputs of new features (`ft:`) the last quiet stretch still found.
#
#   fuzz/run-until-plateau.sh chunk_decode [QUIET=300] [LIMIT=3600]
#
# The corpus grows in fuzz/corpus/<target> (not committed); a crash stops the run and leaves its
# input in fuzz/artifacts/<target>, to be turned into a unit test beside the decoder.
set -euo pipefail
cd "$(dirname "$0")"

target=${1:?usage: run-until-plateau.sh TARGET [QUIET_SECONDS] [LIMIT_SECONDS]}
quiet=${2:-300}
limit=${3:-3600}
log="artifacts/${target}.log"
mkdir -p "corpus/${target}" "artifacts/${target}"

RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -O "${target}"
RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -O "${target}" "corpus/${target}" -- \
  -max_total_time="${limit}" -print_final_stats=1 >"${log}" 2>&1 &
fuzzer=$!

started=$(date +%s)
last_new=${started}
coverage=0
while kill -0 "${fuzzer}" 2>/dev/null; do
  sleep 10
  now_coverage=$(grep -oE ' cov: [0-9]+' "${log}" | awk '{print $2}' | sort -n | tail -n 1 || true)
  if [[ -n "${now_coverage}" && "${now_coverage}" -gt "${coverage}" ]]; then
    coverage=${now_coverage}
    last_new=$(date +%s)
  fi
  if (($(date +%s) - last_new >= quiet)); then
    # SIGINT makes libFuzzer print its final stats and exit (status 72, which cargo fuzz
    # reports as a failure: see `stopped=` below for what really happened).
    pkill -INT -f "target/.*/release/${target} " || true
    plateau=1
    break
  fi
done
wait "${fuzzer}" || status=$?
status=${status:-0}

if [[ -n "${plateau:-}" ]]; then
  stopped=plateau
elif grep -q "libFuzzer: deadly signal\|ERROR: libFuzzer\|panicked at" "${log}"; then
  stopped=crash
else
  stopped=time-limit
fi
elapsed=$(($(date +%s) - started))
quiet_for=$(($(date +%s) - last_new))
echo "target=${target} stopped=${stopped} elapsed_s=${elapsed} coverage=${coverage} no_new_coverage_for_s=${quiet_for} exit=${status}"
grep -E '^#[0-9]+' "${log}" | tail -n 1
grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "${log}" || true
ls "artifacts/${target}" | grep -E '^(crash|timeout|oom|leak)-' || echo "no crash, timeout or oom inputs"

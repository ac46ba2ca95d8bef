#!/usr/bin/env bash
# fuzz-all.sh - run every fuzz target (or the ones named) for SECONDS each, one after the
# other, at low priority, on the stable toolchain (cargo-fuzz with --sanitizer none).
#
#   fuzz/fuzz-all.sh [SECONDS] [TARGET...]      default: 600 s, all targets
#   JOBS=2 fuzz/fuzz-all.sh 600                 two targets at a time
#
# New interesting inputs go to fuzz/corpus/TARGET/ (minimise before committing with
# `cargo fuzz cmin --sanitizer none TARGET`); crashes go to fuzz/artifacts/TARGET/ and
# make the script exit 1. Logs: fuzz/logs/TARGET.log. Needs `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-600}; [ $# -gt 0 ] && shift
JOBS=${JOBS:-1}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls fuzz_targets | sed 's/\.rs$//')
fi
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }
mkdir -p logs
nice -n 19 cargo fuzz build --sanitizer none

# Dictionaries help the grammar-heavy targets get past keywords quickly.
dict_for() {
  case "$1" in
    command|session|address) echo "-dict=dict/smtp.dict";;
    config) echo "-dict=dict/toml.dict";;
    http_send) echo "-dict=dict/json.dict";;
    dsn) echo "-dict=dict/dsn.dict";;
  esac
}

run_one() {
  local t=$1 dict
  dict=$(dict_for "$t")
  mkdir -p "corpus/$t"
  # -timeout: one input taking 20 s is a hang; -rss_limit_mb: a leak or blow-up is a crash.
  # shellcheck disable=SC2086
  if nice -n 19 cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
      -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 $dict \
      >"logs/$t.log" 2>&1; then
    echo "$t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$') runs in ${SECS}s, corpus $(ls "corpus/$t" | wc -l))" | tee "logs/$t.result"
  else
    echo "$t: CRASH, see fuzz/logs/$t.log and fuzz/artifacts/$t/" | tee "logs/$t.result"
  fi
}

running=0
for t in "${TARGETS[@]}"; do
  rm -f "logs/$t.result"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
for t in "${TARGETS[@]}"; do grep -q CRASH "logs/$t.result" && exit 1; done
exit 0

#!/usr/bin/env bash
# fuzz-all.sh - run every fuzz target (or the ones named) for SECONDS each, one after the
# other, at low priority, on the stable toolchain (cargo-fuzz with --sanitizer none).
#
#   fuzz/fuzz-all.sh [SECONDS] [TARGET...]      default: 600 s, all targets
#   JOBS=2 fuzz/fuzz-all.sh 600                 two targets at a time
#   NO_BUILD=1 ...                              use the binaries already built
#
# New interesting inputs go to fuzz/corpus/TARGET/ (minimise before committing with
# `cargo fuzz cmin --sanitizer none TARGET`); crashes go to fuzz/artifacts/TARGET/ and
# make the script exit 1. Reproduce one: `cargo fuzz run --sanitizer none TARGET FILE`. Logs: fuzz/logs/TARGET.log. Needs `cargo install cargo-fuzz`.
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
[ -n "${NO_BUILD:-}" ] || nice -n 19 cargo fuzz build --sanitizer none
# Run the built binaries directly (what `cargo fuzz run` does after building), so that
# source edits made while the campaign runs do not trigger rebuilds between targets.
BIN=target/$(rustc -vV | sed -n 's/^host: //p')/release

# Dictionaries help the grammar-heavy targets get past keywords quickly.
dict_for() {
  case "$1" in
    command|session|address) echo "-dict=dict/smtp.dict";;
    config) echo "-dict=dict/toml.dict";;
    http_send) echo "-dict=dict/json.dict";;
    dsn) echo "-dict=dict/dsn.dict";;
    pop3_command) echo "-dict=dict/pop3.dict";;
    imap_message) echo "-dict=dict/mime.dict";;
  esac
}

run_one() {
  local t=$1 dict before after
  dict=$(dict_for "$t")
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  # Fork mode keeps going after a crash (saving every one), so one known bug does not
  # hide the next. -timeout: an input taking 20 s is a hang; -rss_limit_mb: a blow-up.
  # shellcheck disable=SC2086
  nice -n 19 "$BIN/$t" -artifact_prefix="artifacts/$t/" "corpus/$t" \
      -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 $dict >"logs/$t.log" 2>&1 || true
  after=$(ls "artifacts/$t" | wc -l)
  local execs
  execs=$(grep -o '^#[0-9]*' "logs/$t.log" | tail -1 | tr -d '#')
  if [ "$after" -eq "$before" ]; then
    echo "$t: ok (${execs:-?} runs in ${SECS}s, corpus $(ls "corpus/$t" | wc -l))" | tee "logs/$t.result"
  else
    echo "$t: CRASH ($((after - before)) new in fuzz/artifacts/$t/, ${execs:-?} runs), see fuzz/logs/$t.log" | tee "logs/$t.result"
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

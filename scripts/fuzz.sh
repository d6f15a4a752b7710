#!/usr/bin/env bash
# Fuzz the code that reads what others write, with cargo-fuzz (libFuzzer, nightly
# toolchain): IOC extraction, refang/defang, STIX and MISP parsing, pattern compiling.
#   scripts/fuzz.sh [seconds per target]   (default 300; make test runs 20)
# Seeds are kept in the repo (ctas_core/fuzz/corpus/<target>/); what the fuzzer finds
# besides goes to $CTAS_CACHE/fuzz-corpus/<target>/, kept between runs. A crash, a
# failed assertion or an input over the time limit fails the script and leaves the
# input in $CTAS_CACHE/fuzz-artifacts/<target>/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
secs="${1:-300}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$CTAS_ROOT/ctas_core/fuzz"
export CARGO_TARGET_DIR="$CTAS_CACHE/fuzz-target"
log "building the fuzz targets (nightly, sanitizer)"
cargo +nightly fuzz build
for target in extract refang stix misp patterns; do
  found="$CTAS_CACHE/fuzz-corpus/$target"
  artifacts="$CTAS_CACHE/fuzz-artifacts/$target"
  mkdir -p "$found" "$artifacts"
  log "fuzzing $target for $secs s"
  if ! cargo +nightly fuzz run "$target" "$found" "corpus/$target" -- \
      -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 >"$artifacts.log" 2>&1; then
    tail -n 60 "$artifacts.log" >&2
    die "fuzzing $target found an input that fails; it is in $artifacts/ (log: $artifacts.log)"
  fi
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$artifacts.log" | grep -oE '[0-9]+$' || true)
  echo "fuzz: $target ok, ${runs:-?} inputs in $secs s"
done

#!/usr/bin/env bash
# Fuzz IOC extraction and refang/defang with cargo-fuzz (libFuzzer, nightly toolchain).
#   scripts/fuzz.sh [seconds per target]   (default 300)
# Seeds come from the extractor's own test texts and hostile inputs; crashes land in
# ctas_core/fuzz/artifacts/<target>/ and make the script fail.
set -euo pipefail
source "$(dirname "$0")/env.sh"
secs="${1:-300}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cd "$CTAS_ROOT/ctas_core/fuzz"
for target in extract refang; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  printf '%s' 'C2 hxxps://evil[.]com/gate.php 10.0.0[.]1 bob[at]evil(.)org T1059.001 CVE-2024-3400' > "$corpus/seed-defanged"
  printf '%s' 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\Run x 2001:db8::1 1536:yB+A8bMtMe:N4tMsb' > "$corpus/seed-mixed"
  printf '%s' '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 44d88612fea8a8f36de82e1278abb02f (see https://a.com/x).' > "$corpus/seed-hashes"
  log "fuzzing $target for $secs s"
  CARGO_TARGET_DIR="$CTAS_CACHE/fuzz-target" cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1
done

#!/usr/bin/env bash
# Every test, against the real services: formatting and lints, cargo tests (core unit
# tests and the router's tracer tests through sled, SurrealDB, PostgreSQL and Neo4j),
# pg_regress on the installed extension, the Python testbed (pytest + psycopg), and a
# bounded fuzzing run of every fuzz target.
# Installs what is missing and starts what is not running; stops only what it started.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
results="$CTAS_RUN/logs/test-results"
mkdir -p "$results"

bash scripts/install.sh

stop_after=()
cleanup_services() {
  for ((i = ${#stop_after[@]} - 1; i >= 0; i--)); do
    bash "scripts/${stop_after[i]}.sh" stop || true
  done
}
trap 'rc=$?; cleanup_services; exit $rc' EXIT
if ! pg_lsclusters -h 2>/dev/null | awk '$1=="15" && $2=="main" {print $4}' | grep -qx online; then
  stop_after+=(pg)
fi
bash scripts/pg.sh start
bash scripts/neo4j.sh status >/dev/null 2>&1 || stop_after+=(neo4j)
bash scripts/neo4j.sh start

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

bash scripts/build.sh

# A clone builds its test executables under hashes of its own (its path is part of
# them), so each CI clone left ~5 GB behind until the disk filled: keep only the newest
# executable of each name.
find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -executable -size +20M -printf '%T@ %p\n' |
  sort -rn | awk '{ name = $2; sub(/-[0-9a-f]+$/, "", name); if (seen[name]++) print $2 }' |
  xargs -r rm -f

log "cargo test (core, router against the real tiers)"
cargo test --workspace --exclude ctas_pg 2>&1 | tee "$results/cargo.log"

log "pg_regress"
bash scripts/regress.sh 2>&1 | tee "$results/regress.log"

log "ruff"
"$CTAS_VENV/bin/ruff" check python tests/python benches
"$CTAS_VENV/bin/ruff" format --check python tests/python benches
log "pytest (Python testbed against PostgreSQL with the extension)"
"$CTAS_VENV/bin/pytest" -q tests/python 2>&1 | tee "$results/pytest.log"
log "fuzzing: extraction, refang, STIX, MISP, pattern sets (scripts/fuzz.sh)"
bash scripts/fuzz.sh "${CTAS_FUZZ_SECONDS:-20}" 2>&1 | tee "$results/fuzz.log"

# One closing line for the whole run, summed from what each runner reported.
count() { grep -oE "$1" "$2" | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}' || true; }
cargo_passed=$(count 'test result: ok\. [0-9]+ passed' "$results/cargo.log")
regress_passed=$(grep -cE '^test .* \.\.\. ok' "$results/regress.log" || true)
pytest_passed=$(grep -oE '[0-9]+ passed' "$results/pytest.log" | tail -n 1 | grep -oE '[0-9]+' || true)
fuzz_passed=$(grep -cE '^fuzz: .* ok' "$results/fuzz.log" || true)
log "cargo: $cargo_passed passed; pg_regress: $regress_passed passed; pytest: $pytest_passed passed; fuzz targets: $fuzz_passed passed"
# Stop what this run started now, so the summary below is the run's last line.
trap - EXIT
cleanup_services
echo "all: $((cargo_passed + regress_passed + pytest_passed + fuzz_passed)) passed, 0 failed"

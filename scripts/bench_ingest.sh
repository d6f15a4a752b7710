#!/usr/bin/env bash
# STIX ingest by benchmark (benches/ingest.py, ctas_router/examples/history_load.rs;
# figures go to benches/RESULTS.md): MITRE
# ATT&CK acknowledged by the release router, through SQL's ctas_ingest_stix, and the
# peer in the same run, a plain COPY of the same rows. Uses its own databases.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
bash scripts/install.sh
bash scripts/pg.sh start
bash scripts/neo4j.sh start
bash scripts/build.sh
log "building the release router"
cargo build --quiet --release -p ctas_router --bin ctas-router
log "date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
"$CTAS_VENV/bin/python" benches/ingest.py "$CARGO_TARGET_DIR/release/ctas-router" \
  "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" "${CTAS_BENCH_RUNS:-5}"
log "the cold tier's statements against COPY of the same rows (ctas_router/examples/history_load.rs)"
cargo build --quiet --release -p ctas_router --example history_load
db=ctas_bench_history
psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
PGOPTIONS="-c client_min_messages=warning" psql -q -d "$db" -c "CREATE EXTENSION ctas" -c "SELECT ctas_schema_upgrade()" >/dev/null
"$CARGO_TARGET_DIR/release/examples/history_load" "$CTAS_PG_DSN dbname=$db" \
  "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" "${CTAS_BENCH_RUNS:-5}"

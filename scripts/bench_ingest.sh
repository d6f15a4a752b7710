#!/usr/bin/env bash
# STIX ingest by benchmark (benches/ingest.py, ctas_router/examples/history_load.rs and
# graph_load.rs; figures go to benches/RESULTS.md): MITRE ATT&CK acknowledged by the
# release router and held by every tier, through SQL's ctas_ingest_stix, and the peers
# in the same run: a plain COPY of the same rows, a plain UNWIND … CREATE of the same
# graph. Uses its own databases; empties Neo4j.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
bash scripts/install.sh
bash scripts/pg.sh start
bash scripts/neo4j.sh start
bash scripts/build.sh
log "building the release router"
cargo build --quiet --release -p ctas_router --bin ctas-router --example graph_load
log "date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
"$CTAS_VENV/bin/python" benches/ingest.py "$CARGO_TARGET_DIR/release/ctas-router" \
  "$CARGO_TARGET_DIR/release/examples/graph_load" \
  "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" "${CTAS_BENCH_RUNS:-5}"
log "the cold tier's statements against COPY of the same rows (ctas_router/examples/history_load.rs)"
cargo build --quiet --release -p ctas_router --example history_load
db=ctas_bench_history
psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
PGOPTIONS="-c client_min_messages=warning" psql -q -d "$db" -c "CREATE EXTENSION ctas" -c "SELECT ctas_schema_upgrade()" >/dev/null
"$CARGO_TARGET_DIR/release/examples/history_load" "$CTAS_PG_DSN dbname=$db" \
  "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" "${CTAS_BENCH_RUNS:-5}"
log "the graph tier against Neo4j's floor, plain UNWIND … CREATE of the same rows (ctas_router/examples/graph_load.rs; empties Neo4j)"
"$CARGO_TARGET_DIR/release/examples/graph_load" \
  "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" "${CTAS_BENCH_RUNS:-5}"

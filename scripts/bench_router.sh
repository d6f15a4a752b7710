#!/usr/bin/env bash
# ctas-router under load: the release build on loopback, driven by the load generator in
# ctas_router/examples/load/ (figures go to benches/RESULTS.md).
#   acknowledged records/s at 1, 4, 16 and 64 clients (1,000-record requests), beside the
#     floor of the same records written straight into sled by one thread;
#   lookups by id, and by value (GET /v1/indicators/{value}), at 10,000/s, idle and
#     under 16 ingesting clients (p50/p99/max);
#   the time until every tier holds 50,000 records.
# `bench_router.sh lookups [RATE...]` runs the lookups alone: by value at rising rates
# (1,000 to 20,000/s, or the rates given, a rate given twice run twice) beside the peer,
# the same values asked of PostgreSQL alone, and a batch of 10,000 values beside
# PostgreSQL's = ANY. `bench_router.sh batch`: the batch alone, three
# times, each against a new router.
# Uses its own PostgreSQL database (ctas_bench_router, made anew) and data directory.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
bash scripts/install.sh
bash scripts/pg.sh start
bash scripts/neo4j.sh start
log "building the release router and the load generator"
cargo build --quiet --release -p ctas_router --bin ctas-router --example load
bin="$CARGO_TARGET_DIR/release/ctas-router"
load="$CARGO_TARGET_DIR/release/examples/load"
port="${CTAS_BENCH_PORT:-8097}"
url="http://127.0.0.1:$port"
db=ctas_bench_router
psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
work="$(mktemp -d /tmp/ctas-bench-router.XXXXXX)"
pid=""
stop_router() { if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap 'stop_router; rm -rf "$work"' EXIT
start_router() {
  rm -rf "$work/data"
  CTAS_PG_DSN="$CTAS_PG_DSN dbname=$db" CTAS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" \
    --data-dir "$work/data" 2>>"$CTAS_RUN/logs/bench-router.log" &
  pid=$!
  wait_for "ctas-router (release)" 60 curl -sf "$url/healthz" || die "the router did not start; see $CTAS_RUN/logs/bench-router.log"
}
log "date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
if [[ "${1:-all}" == batch ]]; then
  for run in 1 2 3; do
    start_router
    "$load" batch "$url" "$CTAS_PG_DSN dbname=$db"
    stop_router
  done
  exit 0
fi
if [[ "${1:-all}" == lookups ]]; then
  shift
  rates=("$@")
  ((${#rates[@]})) || rates=(1000 5000 10000 20000)
  for rate in "${rates[@]}"; do
    start_router
    "$load" lookup-value "$url" "$rate" 10
    stop_router
    start_router
    "$load" lookup-pg "$url" "$CTAS_PG_DSN dbname=$db" "$rate" 10
    stop_router
  done
  start_router
  "$load" batch "$url" "$CTAS_PG_DSN dbname=$db"
  stop_router
  exit 0
fi
for c in 1 4 16 64; do
  "$load" sled "$work/floor-$c" 1000 10
  rm -rf "$work/floor-$c"
  start_router
  "$load" ingest "$url" "$c" 1000 10
  stop_router
done
start_router
"$load" lookup "$url" 10000 10
"$load" lookup "$url" 10000 10 16
"$load" lookup-value "$url" 10000 10
"$load" lookup-value "$url" 10000 10 16
stop_router
start_router
"$load" synced "$url" 50000
stop_router

#!/usr/bin/env bash
# Build the router, install the `ctas` extension into the Debian PostgreSQL 15, and build
# the Python package's core (ctas._core) into this checkout's python/ctas.
# `cargo pgrx install` works as root (only initdb refuses root), so no test cluster
# of pgrx's own is needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
log "building ctas-router"
cargo build --quiet -p ctas_router
log "building and installing the ctas extension into $("$PG_CONFIG" --pkglibdir)"
(cd ctas_pg && NO_COLOR=1 cargo pgrx install --pg-config "$PG_CONFIG")
[[ -f "$("$PG_CONFIG" --sharedir)/extension/ctas.control" ]] || die "the ctas extension was not installed (see above)"
# Earlier versions' install scripts and the upgrades from them (ALTER EXTENSION ctas UPDATE).
install -m 644 ctas_pg/sql/ctas--*.sql "$("$PG_CONFIG" --sharedir)/extension/"
log "installing the ctas_postgis companion extension (SQL only)"
install -m 644 sql/ctas_postgis/ctas_postgis.control sql/ctas_postgis/ctas_postgis--*.sql \
  "$("$PG_CONFIG" --sharedir)/extension/"
bash scripts/python_package.sh

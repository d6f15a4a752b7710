#!/usr/bin/env bash
# SQL benchmarks against the release build of the extension.
#   scripts/bench.sh score [rows]     scoring vs a trivial SQL function (default 10M rows)
#   scripts/bench.sh hotspot [cells]  Gi* vs PySAL esda (default 100,000 cells)
#   scripts/bench.sh dbscan [points [runs]]  DBSCAN vs PostGIS ST_ClusterDBSCAN (1M)
#   scripts/bench.sh h3 [rows]        ctas_h3_cell per row vs a trivial function (1M)
#   scripts/bench.sh ioc [megabytes]  IOC extraction: criterion, SQL, iocextract, ioc-finder (10 MB)
#   scripts/bench.sh anomalies [series [points]]  ctas_anomalies vs statsmodels STL + z (10,000 × 720)
#   scripts/bench.sh skab DIR         anomaly accuracy on SKAB (a checkout of waico/SKAB) by its scorer
#   scripts/bench.sh python           python -m ctas.bench: the core vs Python baselines and peers
#   scripts/bench.sh ioc-accuracy     IOC accuracy on real reports, CTAS and four peers
#                                     (records the peers' figures), then on ioc-finder's cases
# Installs the release build (and leaves it installed; `make test` puts the debug build
# back), starts PostgreSQL if needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
if [[ ${1:-} == skab && ! ( -d "${2:-}/data" && -f "${2:-}/core/metrics.py" ) ]]; then
  die "skab needs a checkout of github.com/waico/SKAB (its data/ and core/metrics.py): $0 skab DIR"
fi
bash scripts/install.sh
bash scripts/pg.sh start
log "building and installing the release build of the ctas extension"
(cd ctas_pg && NO_COLOR=1 cargo pgrx install --release --features bench --pg-config "$PG_CONFIG" >/dev/null)
case "${1:-}" in
  score) "$CTAS_VENV/bin/python" benches/sql/score_decay.py "${2:-10000000}" ;;
  hotspot) "$CTAS_VENV/bin/python" benches/sql/hotspot_gistar.py "${2:-100000}" ;;
  dbscan) "$CTAS_VENV/bin/python" benches/sql/dbscan_postgis.py "${2:-1000000}" "${3:-1}" ;;
  h3) "$CTAS_VENV/bin/python" benches/sql/h3_cell_rows.py "${2:-1000000}" ;;
  anomalies) "$CTAS_VENV/bin/python" benches/sql/anomalies_speed.py "${2:-10000}" "${3:-720}" ;;
  ioc)
    corpus="$CTAS_CACHE/bench/reports.txt"
    mkdir -p "$(dirname "$corpus")"
    "$CTAS_VENV/bin/python" -m ctas.bench.corpus "$corpus" "${2:-10}"
    CTAS_IOC_CORPUS="$corpus" cargo bench -p ctas_core --bench ioc
    "$CTAS_VENV/bin/python" benches/sql/ioc_speed.py "$corpus" "$CARGO_TARGET_DIR/criterion"
    "$CTAS_VENV/bin/python" benches/sql/retro_hunt.py "$corpus" "$CTAS_SHARED_DATA/attack/enterprise-attack-v18.1.json.gz" ;;
  python)
    bash scripts/python_package.sh
    mkdir -p "$CTAS_CACHE/bench"
    "$CTAS_VENV/bin/python" -m ctas.bench --json "$CTAS_CACHE/bench/python.json" ;;
  ioc-accuracy)
    "$CTAS_VENV/bin/pip" install -q --disable-pip-version-check -r python/requirements-bench.txt
    "$CTAS_VENV/bin/python" benches/ioc/accuracy.py --record benches/ioc/peers.json
    "$CTAS_VENV/bin/python" benches/sql/ioc_accuracy.py "$CTAS_SHARED_DATA/ioc/iocfinder_cases.jsonl" ;;
  skab)
    "$CTAS_VENV/bin/pip" install -q --disable-pip-version-check -r python/requirements-bench.txt
    "$CTAS_VENV/bin/python" benches/behaviour/skab.py "$2" ;;
  *) die "usage: $0 score [rows] | hotspot [cells] | dbscan [points [runs]] | h3 [rows] | anomalies [series [points]] | ioc [megabytes] | ioc-accuracy | skab DIR | python" ;;
esac

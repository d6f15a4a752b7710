#!/usr/bin/env bash
# The main job from a fresh machine: install what is missing, build, install the
# extension, start PostgreSQL (+PostGIS), Neo4j and the router with its embedded
# sled and SurrealDB tiers, ingest the samples the repository ships (scripts/demo/: a
# STIX 2.1 bundle, a MISP event, NDJSON records, all written for the demo), and show
# what each tier now holds and what SQL says about it: an indicator found in reports
# with their scores, a correlation across feeds, the entities an indicator is tied to.
# Leaves everything running; `make stop` stops what it started.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
bin="$CARGO_TARGET_DIR/debug/ctas-router"
samples="$CTAS_ROOT/scripts/demo"
sample="$samples/records.ndjson"

bash scripts/install.sh
bash scripts/pg.sh start
bash scripts/neo4j.sh start
bash scripts/build.sh
# Until the extension has released versions with upgrade scripts, the demo database
# gets the extension as just built: dropped and created again.
PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 \
  -c "DROP EXTENSION IF EXISTS ctas CASCADE" -c "CREATE EXTENSION ctas"
bash scripts/router.sh start

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "ingest scripts/demo/: a STIX bundle, a MISP event and $(wc -l <"$sample") NDJSON records (ctas-router ingest)"
"$bin" ingest "$samples"

section "what each tier holds (ctas-router status)"
"$bin" status --wait-synced 60

id=$(head -n 1 "$sample" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
section "one record, read back from sled, SurrealDB, PostgreSQL and Neo4j (ctas-router trace $id)"
"$bin" trace "$id"

section "SQL on the cold tier: 203.0.113.45 in every report that names it, with the report's score"
psql -v ON_ERROR_STOP=1 -P pager=off <<'SQL'
SELECT r.observed_at::date AS day, left(coalesce(r.title, r.body), 48) AS report, r.source,
       s.raw AS written, round((ctas_analyze_row(r) -> 'score' ->> 'score')::numeric, 1) AS score
FROM ctas.sightings s
JOIN ctas.reports r ON r.id = s.report_id
WHERE s.indicator_id = ctas_indicator_id('ipv4', '203.0.113[.]45')
ORDER BY r.observed_at;
SQL

section "a correlation across feeds: reports sharing indicators with the STIX report, rarest first"
psql -v ON_ERROR_STOP=1 -P pager=off <<'SQL'
SELECT c.related_report, left(coalesce(r.title, r.body), 40) AS title, c.shared,
       round(c.weight::numeric, 2) AS weight, c.shared_indicators
FROM ctas_correlated_reports('report--c7a5d0e2-3f41-4b8e-9d2a-5e6f7a8b9c0c') c
JOIN ctas.reports r ON r.id = c.related_report;
SQL

section "the entities 203.0.113.45 is tied to, through the STIX relationships"
psql -v ON_ERROR_STOP=1 -P pager=off <<'SQL'
WITH RECURSIVE near (id, hops, via) AS (
    SELECT ctas_indicator_id('ipv4', '203.0.113.45'), 0, ''
  UNION
    SELECT CASE WHEN r.source_ref = n.id THEN r.target_ref ELSE r.source_ref END, n.hops + 1,
           r.relationship_type
    FROM near n JOIN ctas.relationships r ON n.id IN (r.source_ref, r.target_ref)
    WHERE n.hops < 3 AND r.relationship_type <> 'object_refs')
SELECT e.type, coalesce(e.name, e.id) AS name, e.external_ids, min(n.hops) AS hops
FROM near n JOIN ctas.entities e ON e.id = n.id
GROUP BY 1, 2, 3 ORDER BY hops, 1, 2;
SQL

section "SQL on the cold tier: reports per H3 cell"
psql -v ON_ERROR_STOP=1 -P pager=off <<'SQL'
SELECT to_hex(h3_cell)                          AS h3_cell_res7,
       count(*)                                 AS reports,
       string_agg(DISTINCT source, ', ')        AS sources
FROM ctas.reports
WHERE source LIKE 'ctas-demo%' AND h3_cell IS NOT NULL
GROUP BY h3_cell
ORDER BY reports DESC, h3_cell_res7;
SQL

section "the cells the router derived, checked against Uber's h3 package for Python"
"$CTAS_VENV/bin/python" - <<'PY'
import sys

import h3
import psycopg
from ctas import dsn

with psycopg.connect(dsn()) as conn:
    rows = conn.execute(
        "SELECT id, lat, lng, to_hex(h3_cell) FROM ctas.reports"
        " WHERE source LIKE 'ctas-demo%' AND lat IS NOT NULL"
    ).fetchall()
wrong = [r for r in rows if h3.latlng_to_cell(r[1], r[2], 7) != r[3]]
print(f"{len(rows) - len(wrong)} of {len(rows)} located reports have h3.latlng_to_cell's cell")
sys.exit(1 if wrong or not rows else 0)
PY

section "the analysts' dashboard (scripts/dashboard.sh start)"
bash scripts/dashboard.sh start

section "done"
cat <<EOF2
The dashboard: http://127.0.0.1:${CTAS_DASHBOARD_PORT:-8501} (Hotspots, Lookup, Reports, Operations).
The router is still running on $CTAS_URL (log: $CTAS_RUN/logs/router.log). Try:
  curl -s $CTAS_URL/v1/status
  curl -s $CTAS_URL/metrics
  psql "$CTAS_PG_DSN" -c "SELECT to_hex(ctas_h3_cell(48.8584, 2.2945, 9))"
Stop what the demo started with: make stop
EOF2

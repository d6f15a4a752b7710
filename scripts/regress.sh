#!/usr/bin/env bash
# pg_regress against the running cluster (--use-existing), as pg_graphql's installcheck
# does: every ctas_pg/tests/pg_regress/sql/*.sql is run and compared with expected/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
suite="$CTAS_ROOT/ctas_pg/tests/pg_regress"
pg_regress="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress"
[[ -x "$pg_regress" ]] || die "pg_regress not found at $pg_regress (package postgresql-server-dev-15)"
out="$CTAS_CACHE/regress"
rm -rf "$out" && mkdir -p "$out"
# --use-existing runs against a database it does not create: start from an empty one.
psql -q -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS ctas_regress" \
  -c "CREATE DATABASE ctas_regress"
mapfile -t tests < <(cd "$suite/sql" && ls *.sql | sed 's/\.sql$//')
if ! "$pg_regress" --use-existing --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
    --dbname=ctas_regress --inputdir="$suite" --outputdir="$out" "${tests[@]}"; then
  cat "$out/regression.diffs" >&2 || true
  die "pg_regress failed; diffs above, results in $out/results"
fi

#!/usr/bin/env bash
# PostgreSQL 15 from Debian's packages: the packaged cluster 15/main.
#   scripts/pg.sh start   start it (if down), wait until it accepts connections,
#                         create the ctas role and database, enable PostGIS
#   scripts/pg.sh stop    stop it, only if this script started it
#   scripts/pg.sh status
# initdb refuses root, so the cluster is Debian's (owned by postgres), never ours.
set -euo pipefail
source "$(dirname "$0")/env.sh"
started_marker="$CTAS_RUN/pg.started-by-ctas"

# Over the local socket as the postgres OS user (peer auth), ignoring our PG* settings.
as_postgres() { (cd / && env -u PGHOST -u PGUSER -u PGPASSWORD -u PGDATABASE runuser -u postgres -- "$@"); }

start() {
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "15/main"; then
    log "creating PostgreSQL cluster 15/main"
    pg_createcluster 15 main >/dev/null
  fi
  if pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $4}' | grep -qx online; then
    log "PostgreSQL 15/main already running"
  else
    log "starting PostgreSQL 15/main (log: /var/log/postgresql/postgresql-15-main.log)"
    pg_ctlcluster 15 main start || die "PostgreSQL did not start; see /var/log/postgresql/postgresql-15-main.log"
    touch "$started_marker"
  fi
  wait_for "PostgreSQL" 60 pg_isready -h "$PGHOST" -p "$PGPORT" -q \
    || die "PostgreSQL is not accepting connections on $PGHOST:$PGPORT after 60 s"
  # The ctas role is a superuser because CREATE EXTENSION ctas (untrusted C) needs one.
  as_postgres psql -p "$PGPORT" -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN SUPERUSER PASSWORD %L', '$PGUSER', '$PGPASSWORD')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PGUSER') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', '$PGUSER', '$PGPASSWORD') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$PGDATABASE', '$PGUSER')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE') \gexec
SQL
  PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
}

stop() {
  if [[ -f "$started_marker" ]]; then
    log "stopping PostgreSQL 15/main"
    pg_ctlcluster 15 main stop -m fast || true
    rm -f "$started_marker"
  else
    log "PostgreSQL was not started by these scripts; leaving it running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pg_lsclusters ;;
  *) die "usage: $0 start|stop|status" ;;
esac

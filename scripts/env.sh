# Shared settings for every script; source it, do not run it.
# Caches live outside the clone so that a fresh clone builds fast on a warm machine
# and a new machine still builds from nothing.
CTAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CTAS_ROOT
export CTAS_CACHE="${CTAS_CACHE:-/var/cache/ctas}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CTAS_CACHE/target}"
export CTAS_VENV="${CTAS_VENV:-$CTAS_CACHE/venv}"
export CTAS_M2="${CTAS_M2:-$CTAS_CACHE/m2}"
export PROMTOOL="${PROMTOOL:-$CTAS_CACHE/tools/promtool}"
# Runtime state (data directories, logs, pid files) of the services the scripts start.
export CTAS_RUN="${CTAS_RUN:-$CTAS_CACHE/run}"
# The shared threat data (MITRE ATT&CK, warninglists, IOC cases) beside the checkout; a
# clone made elsewhere (CI's clean clone) finds it at the workplace's fixed place.
if [[ -z "${CTAS_SHARED_DATA:-}" ]]; then
  for d in "$CTAS_ROOT/../shared/data" /work/shared/data; do
    if [[ -d "$d" ]]; then CTAS_SHARED_DATA="$(cd "$d" && pwd)"; break; fi
  done
fi
export CTAS_SHARED_DATA="${CTAS_SHARED_DATA:-$CTAS_ROOT/../shared/data}"
export PATH="$HOME/.cargo/bin:$PATH"
# pyo3 (ctas_py) builds for the venv's Python; naming it keeps cargo from rebuilding the
# crate whenever another python3 comes first on PATH.
export PYO3_PYTHON="${PYO3_PYTHON:-$CTAS_VENV/bin/python}"
# The Python package of this checkout, ahead of the venv's editable install: that install
# points at whichever clone first made the venv (a cached venv outlives CI's clones).
export PYTHONPATH="$CTAS_ROOT/python${PYTHONPATH:+:$PYTHONPATH}"

export PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-5432}"
export PGUSER="${PGUSER:-ctas}"
export PGPASSWORD="${PGPASSWORD:-ctas}"
export PGDATABASE="${PGDATABASE:-ctas}"
export CTAS_PG_DSN="${CTAS_PG_DSN:-host=$PGHOST port=$PGPORT user=$PGUSER password=$PGPASSWORD dbname=$PGDATABASE}"

export NEO4J_BOLT_ADDR="${NEO4J_BOLT_ADDR:-127.0.0.1:7687}"
export NEO4J_URI="${NEO4J_URI:-bolt://$NEO4J_BOLT_ADDR}"
export NEO4J_USER="${NEO4J_USER:-neo4j}"
export NEO4J_PASSWORD="${NEO4J_PASSWORD:-ctas-dev-password}"

export CTAS_LISTEN="${CTAS_LISTEN:-127.0.0.1:8077}"
export CTAS_URL="${CTAS_URL:-http://$CTAS_LISTEN}"

mkdir -p "$CTAS_CACHE" "$CTAS_RUN/logs"

log() { printf '\033[1m[ctas]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[ctas] error:\033[0m %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND until it succeeds.
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
  log "$what is ready"
}

# await_start NAME PIDFILE LOG CHECK: wait up to 60 s for the command CHECK to succeed
# while the process the pid file names runs; else show the log's tail and die.
await_start() {
  local name="$1" pidfile="$2" logfile="$3" check="$4" deadline=$((SECONDS + 60))
  until "$check"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "$name did not start; log above ($logfile)"
    fi
    sleep 0.2
  done
}

# stop_pidfile NAME PIDFILE: SIGTERM the process the pid file names (one of ours),
# wait up to 30 s for it to exit, then SIGKILL it; never touches anything else.
stop_pidfile() {
  local name="$1" pidfile="$2" pid
  if [[ ! -f "$pidfile" ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    rm -f "$pidfile"
    return
  fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" || true
  fi
  rm -f "$pidfile"
}

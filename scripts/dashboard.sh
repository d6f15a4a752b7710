#!/usr/bin/env bash
# The analysts' dashboard (python -m ctas.dashboard, Streamlit) in the background, reading
# the router at $CTAS_URL and the cold tier at $CTAS_PG_DSN.
#   scripts/dashboard.sh start | stop | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
pidfile="$CTAS_RUN/dashboard.pid"
logfile="$CTAS_RUN/logs/dashboard.log"
port="${CTAS_DASHBOARD_PORT:-8501}"
url="http://127.0.0.1:$port"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
healthy() { [[ "$(curl -fs "$url/_stcore/health" 2>/dev/null)" == ok ]]; }

start() {
  if running; then
    log "the dashboard already runs on $url (pid $(cat "$pidfile"))"
    return
  fi
  if healthy; then
    die "something else already answers on $url; stop it or set CTAS_DASHBOARD_PORT"
  fi
  log "starting the dashboard on $url (log: $logfile)"
  setsid "$CTAS_VENV/bin/python" -m ctas.dashboard --port "$port" \
    >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  await_start "the dashboard" "$pidfile" "$logfile" healthy
  log "the dashboard is ready: $url"
}

stop() { stop_pidfile dashboard "$pidfile"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running on $url (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac

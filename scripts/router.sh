#!/usr/bin/env bash
# Run ctas-router in the background for the demo, with its data under $CTAS_RUN.
#   scripts/router.sh start | stop | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
pidfile="$CTAS_RUN/router.pid"
logfile="$CTAS_RUN/logs/router.log"
export CTAS_DATA_DIR="${CTAS_DATA_DIR:-$CTAS_RUN/router-data}"
bin="$CARGO_TARGET_DIR/debug/ctas-router"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
healthy() { curl -fs "$CTAS_URL/healthz" >/dev/null; }

start() {
  [[ -x "$bin" ]] || die "$bin is missing: run scripts/build.sh first"
  if running; then
    log "ctas-router already running (pid $(cat "$pidfile"))"
    return
  fi
  if healthy; then
    die "something else already answers on $CTAS_URL; stop it or set CTAS_LISTEN"
  fi
  log "starting ctas-router on $CTAS_URL, data in $CTAS_DATA_DIR (log: $logfile)"
  setsid "$bin" serve >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  await_start "ctas-router" "$pidfile" "$logfile" healthy
  log "ctas-router is ready"
}

stop() { stop_pidfile ctas-router "$pidfile"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac

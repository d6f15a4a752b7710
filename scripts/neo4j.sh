#!/usr/bin/env bash
# A real Neo4j 5.26 LTS server (community, from Maven Central) with Bolt on loopback.
#   scripts/neo4j.sh start   resolve the jars (once), start, wait for Bolt
#   scripts/neo4j.sh stop    stop the server this script started (by its pid file)
#   scripts/neo4j.sh status
# Settings: NEO4J_BOLT_ADDR, NEO4J_USER, NEO4J_PASSWORD (scripts/env.sh has defaults).
set -euo pipefail
source "$(dirname "$0")/env.sh"
home="$CTAS_RUN/neo4j"
pidfile="$CTAS_RUN/neo4j.pid"
logfile="$CTAS_RUN/logs/neo4j.log"
pom="$CTAS_ROOT/scripts/neo4j/pom.xml"
classpath="$CTAS_CACHE/neo4j-classpath-$(sha256sum "$pom" | cut -c1-16).txt"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

resolve() {
  if [[ ! -s "$classpath" ]]; then
    log "resolving Neo4j from Maven Central into $CTAS_M2"
    mvn -B -q -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$CTAS_M2" dependency:build-classpath \
      -Dmdep.outputFile="$classpath.tmp" || die "Maven could not resolve Neo4j (see above)"
    mv "$classpath.tmp" "$classpath"
  fi
}

bolt_open() { (exec 3<>"/dev/tcp/${NEO4J_BOLT_ADDR%:*}/${NEO4J_BOLT_ADDR##*:}") 2>/dev/null; }

start() {
  resolve
  if running; then
    log "Neo4j already running (pid $(cat "$pidfile"))"
    return
  fi
  if bolt_open; then
    die "something else already listens on $NEO4J_BOLT_ADDR; stop it or set NEO4J_BOLT_ADDR"
  fi
  mkdir -p "$home"
  log "starting Neo4j on bolt://$NEO4J_BOLT_ADDR (log: $logfile)"
  NEO4J_HOME="$home" setsid java -Xms256m -Xmx1g -XX:+UseG1GC \
    -cp "$(cat "$classpath")" "$CTAS_ROOT/scripts/neo4j/CtasNeo4j.java" \
    >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local deadline=$((SECONDS + 180))
  until grep -q "ctas-neo4j: ready" "$logfile" 2>/dev/null; do
    if ! running; then
      grep -m 5 -E "ctas-neo4j|Exception" "$logfile" >&2 || tail -n 30 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "Neo4j exited during start-up; log above ($logfile)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      stop
      die "Neo4j not ready after 180 s; stopped it; log above ($logfile)"
    fi
    sleep 0.5
  done
  wait_for "Neo4j (Bolt)" 30 bolt_open || die "Neo4j says ready but $NEO4J_BOLT_ADDR is closed"
}

stop() { stop_pidfile Neo4j "$pidfile"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  resolve) resolve ;;
  status) if running; then echo "running (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: $0 start|stop|status|resolve" ;;
esac

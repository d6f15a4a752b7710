#!/usr/bin/env bash
# Install what CTAS needs and is missing; quick when everything is already there.
#   Debian: postgresql-15, postgresql-server-dev-15, postgresql-15-postgis-3, libclang-dev,
#     chromium (the dashboard's tests drive it with Playwright)
#   cargo-pgrx 0.18.1 (pgrx 0.19 needs rustc 1.96), initialised for PostgreSQL 15
#   promtool, unpacked from Debian's prometheus package (the alert rules' checker)
#   Neo4j 5.26 LTS jars from Maven Central (Java 17 and Maven come with the machine)
#   a Python venv with maturin, numpy, psycopg 3, pytest, the reference libraries and ruff
set -euo pipefail
source "$(dirname "$0")/env.sh"

apt_packages=(postgresql-15 postgresql-server-dev-15 postgresql-15-postgis-3 libclang-dev curl jq chromium fonts-dejavu-core)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# promtool, Prometheus' checker of rules and metrics, from Debian's prometheus package:
# unpacked rather than installed, which would also install and start a Prometheus server.
if [[ ! -x "$PROMTOOL" ]]; then
  log "unpacking promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1)
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/unpacked"
  mkdir -p "$(dirname "$PROMTOOL")"
  cp "$tmp/unpacked/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$tmp"
fi
"$PROMTOOL" --version >/dev/null || die "promtool at $PROMTOOL does not run"

for tool in java mvn cargo python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed; this machine image should provide it"
done

pgrx_version=0.18.1
if [[ "$(cargo pgrx --version 2>/dev/null || true)" != "cargo-pgrx $pgrx_version" ]]; then
  log "installing cargo-pgrx $pgrx_version (about 4 minutes)"
  cargo install cargo-pgrx --version "$pgrx_version" --locked --quiet
fi
if ! grep -qs "pg15 = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  log "initialising pgrx for PostgreSQL 15"
  cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi

bash "$CTAS_ROOT/scripts/neo4j.sh" resolve

requirements="$CTAS_ROOT/python/requirements-dev.txt"
stamp="$CTAS_VENV/.requirements-$(sha256sum "$requirements" | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  log "preparing the Python venv at $CTAS_VENV"
  [[ -x "$CTAS_VENV/bin/python" ]] || python3 -m venv "$CTAS_VENV"
  "$CTAS_VENV/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi
log "dependencies are installed"

#!/usr/bin/env bash
# Builds and installs h3-pg (the `h3` extension) from source trees on this machine, as
# the peer of `make bench-h3`. Only for the benchmark: CTAS does not need it.
#
#   scripts/h3pg.sh [H3PG_SRC [H3_SRC]]
#
# h3-pg's build downloads the H3 C library; here both come as source trees instead (no
# network): H3PG_SRC a checkout of github.com/zachasme/h3-pg, H3_SRC the H3 release it
# pins (H3_CORE_VERSION in its CMakeLists.txt) from github.com/uber/h3. Defaults:
# $CTAS_CACHE/h3pg/h3-pg and $CTAS_CACHE/h3pg/h3.
set -euo pipefail
source "$(dirname "$0")/env.sh"
src="${1:-$CTAS_CACHE/h3pg/h3-pg}"
h3="${2:-$CTAS_CACHE/h3pg/h3}"
[[ -f "$src/CMakeLists.txt" ]] || die "no h3-pg source tree at $src (give its path as the first argument)"
[[ -f "$h3/src/h3lib/include/h3api.h.in" ]] || die "no H3 source tree at $h3 (give its path as the second argument)"
want=$(sed -n 's/^set(H3_CORE_VERSION \(.*\))/\1/p' "$src/CMakeLists.txt")
have=$(cat "$h3/VERSION")
[[ "$want" == "$have" ]] || die "h3-pg pins H3 $want, the tree at $h3 is $have"
build="$CTAS_CACHE/h3pg/build"
log "building h3-pg from $src with H3 $have"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DFETCHCONTENT_SOURCE_DIR_H3="$h3" -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
  -DPostgreSQL_CONFIG="$PG_CONFIG" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cmake --install "$build" --component h3-pg >/dev/null
log "installed the h3 extension: $(sed -n 's/^default_version = //p' "$("$PG_CONFIG" --sharedir)/extension/h3.control")"

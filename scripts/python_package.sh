#!/usr/bin/env bash
# Build the Python package's core (ctas._core, from ctas_py by maturin, release) into this
# checkout's python/ctas: an editable install in the venv, so the module lands beside the
# package's sources, which PYTHONPATH (env.sh) puts first. The venv's maturin builds it;
# nothing is downloaded.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CTAS_ROOT"
log "building the Python package (ctas._core, maturin) into python/ctas"
PATH="$CTAS_VENV/bin:$PATH" "$CTAS_VENV/bin/pip" install -q --disable-pip-version-check \
  --no-build-isolation --no-deps -e python
[[ -n "$(ls python/ctas/_core.*.so 2>/dev/null)" ]] || die "ctas._core was not built (see above)"

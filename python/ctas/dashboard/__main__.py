"""``python -m ctas.dashboard [--port N]``: the dashboard on http://127.0.0.1:8501."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ctas.dashboard", description=__doc__)
    parser.add_argument("--port", type=int, default=8501, help="where to listen (8501)")
    parser.add_argument("--address", default="127.0.0.1", help="the address to bind")
    args = parser.parse_args()
    try:
        from streamlit.web import cli
    except ImportError:
        sys.exit("the dashboard needs Streamlit and pydeck: pip install './python[dashboard]'")
    sys.argv = [
        "streamlit",
        "run",
        str(Path(__file__).with_name("app.py")),
        f"--server.port={args.port}",
        f"--server.address={args.address}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        # An unexpected exception shows its type, never its stack trace; the pages say
        # what failed and what to check themselves.
        "--client.showErrorDetails=type",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
    ]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()

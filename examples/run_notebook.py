"""Execute a notebook with nbclient and fail if a cell raises or a picture is missing.

Usage: python examples/run_notebook.py NOTEBOOK [--min-pictures N]

Runs every cell in a fresh kernel of this Python (ipykernel), from the
notebook's own directory, and leaves the file untouched (outputs are not
written back). Used by ``make notebook`` and CI so that the teaching notebook
never rots.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(argv: list[str] | None = None) -> int:
    """Run the notebook; 0 when every cell ran and enough pictures were drawn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--min-pictures", type=int, default=5)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    # The kernel talks to this process over loopback TCP (jupyter_client's default).
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(args.notebook.resolve().parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"{args.notebook}: a cell failed:\n{exc}", file=sys.stderr)
        return 1
    cells = [c for c in nb.cells if c.cell_type == "code"]
    pictures = sum(
        "image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", [])
    )
    print(
        f"{args.notebook}: {len(cells)} code cells ran, {pictures} pictures, "
        f"{time.perf_counter() - start:.1f} s"
    )
    if pictures < args.min_pictures:
        print(f"expected at least {args.min_pictures} pictures, got {pictures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

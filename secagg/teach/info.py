"""``python -m secagg info``: what this installation runs on."""

from __future__ import annotations

import argparse
import json

from .. import __version__, _core, crypto, prg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    info: dict[str, object] = {
        "version": __version__,
        "core": _core.version(),
        "implementations": list(prg.implementations()),
        "implementation": prg.selected_implementation(),
        # cpu flags found, SECAGG_IMPL, or why a fallback was taken
        "implementation_reason": prg.selection_reason(),
        "crypto_backend": crypto.backend_name(),
    }
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info)) + 2
        for key, value in info.items():
            print(f"{key:{width}}{value}")
    return 0

"""``python -m secagg info``: what this installation runs on."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from .. import __version__, _core

    info: dict[str, object] = {"version": __version__, "core": _core.version()}
    try:
        from .. import prg

        info["implementations"] = list(prg.implementations())
        info["implementation"] = prg.selected_implementation()
    except (ImportError, AttributeError):
        pass
    try:
        from .. import crypto

        info["crypto_backend"] = crypto.backend_name()
    except (ImportError, AttributeError):
        pass
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:16} {value}")
    return 0

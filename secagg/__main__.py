"""Command line: ``python -m secagg <command>``.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = {
    "shamir": ("secagg.teach.shamir", "threshold recovery lesson (the same as teach shamir)"),
    "walkthrough": (
        "secagg.teach.walkthrough",
        "narrate one aggregation of 5 clients with a dropout",
    ),
    "teach": (
        "secagg.teach.lessons",
        "lessons with pictures: shamir, robust, masking (--out DIR writes PNGs)",
    ),
    "info": ("secagg.teach.info", "show the compiled core, its implementations and backend"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m secagg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name in argv:  # import only the command that runs
            importlib.import_module(module).add_arguments(p)
    args = parser.parse_args(argv)
    return int(importlib.import_module(args._module).run(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, as other
        # command-line tools do, without a second error when Python flushes.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)

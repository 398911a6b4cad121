"""``python -m secagg teach LESSON``: threshold recovery and masking, in text and pictures.

Lessons: ``shamir`` (split a secret, recover it from any t holders, see why
t - 1 holders learn nothing; by hand in GF(97) and with the library in
GF(2^61 - 1)), ``robust`` (a lying holder is found and named by the
Reed-Solomon decoder; beyond its bound the check refuses) and ``masking``
(one real session on a tiny vector: the graph, the masks, the sum, what the
server rebuilds after a dropout). Each takes ``--out DIR`` to write PNG
pictures (matplotlib, from the ``demo`` extra).

Teaching commands: they print throw-away secrets on purpose.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from . import masking, robust, shamir

__all__ = ["LESSONS", "add_arguments", "run"]

LESSONS: dict[str, tuple[ModuleType, str]] = {
    "shamir": (shamir, "split a secret, recover it from any t holders; t - 1 learn nothing"),
    "robust": (robust, "a lying holder is found and named; beyond the bound, refused"),
    "masking": (masking, "one session on a tiny vector: graph, masks, sum, dropout recovery"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register one sub-command per lesson."""
    parser.epilog = "Teaching commands: they print throw-away secrets on purpose."
    sub = parser.add_subparsers(dest="lesson", required=True, metavar="LESSON")
    for name, (module, help_text) in LESSONS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_lesson=name)


def run(args: argparse.Namespace) -> int:
    """Run the chosen lesson; its exit status."""
    return int(LESSONS[args._lesson][0].run(args))

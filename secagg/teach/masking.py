"""``python -m secagg teach masking``: masks that hide each input and cancel in the sum.

Runs one real session on a tiny vector with one client dropping out
(:func:`secagg.teach.masks.run_session`) and prints the session's graph,
each client's input, its masks and the masked vector the server received,
the sum losing its masks step by step, and which secrets the server rebuilt
for whom, and why never both of one client's. ``--out DIR`` draws the graph
and the vectors.

A teaching command: inputs, masks and seeds are throw-away values, printed
on purpose.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..exceptions import SecAggError
from . import pictures
from .common import out_dir
from .masks import DROP_ROUNDS, MAX_CLIENTS, MaskingRun, fate, tiny_session

__all__ = ["add_arguments", "build", "explain", "run"]

DROP_TEXT = {
    "R1": "before sharing its secrets (R1): nobody will mask with it",
    "R2": "after sharing its secrets, before sending its masked input (R2)",
    "R4": "after sending its masked input, before helping to unmask (R4)",
}


def _vec(v: np.ndarray) -> str:
    return "[" + " ".join(f"{int(w):3d}" for w in v) + "]"


def explain(run: MaskingRun) -> str:
    """The session as text: graph, masks per client, the sum step by step, the rebuilt secrets."""
    cfg, graph = run.config, run.graph
    kind = (
        "complete graph: every client masks with every other"
        if graph.complete
        else f"Harary ring: each client masks with the k = {cfg.k} clients nearest it on a\n"
        f"ring whose order π = {graph.order} is drawn from the session id"
    )
    lines = [
        f"{cfg.n} clients, threshold t = {cfg.t}, vectors of m = {cfg.m} words mod 2^{cfg.b} = "
        f"{run.modulus}",
        f"graph: {kind}",
    ]
    for u in range(1, cfg.n + 1):
        lines.append(f"  client {u}: neighbours {', '.join(map(str, graph.neighbours(u)))}")
    for u, r in sorted(run.dropped.items()):
        lines.append(f"client {u} stops {DROP_TEXT[r]}")
    lines += [
        "",
        "each client sends y_u = x_u + PRG(b_u) + Σ ±PRG(s_uv) over its neighbours v that",
        "shared their keys (+ if u < v, - if u > v), all mod 2^b:",
    ]
    for u in sorted(run.masked):
        rows = [(f"x_{u}", run.inputs[u], ""), (f"+ PRG(b_{u})", run.self_masks[u], "")]
        for v in run.partners(u):
            sign = "+" if u < v else "-"
            note = "" if v in run.u3 else f"   (with {v}, outside U3: the server removes it)"
            rows.append((f"{sign} PRG(s_{min(u, v)},{max(u, v)})", run.signed_pair(u, v), note))
        same = np.array_equal(run.rebuilt_y(u), run.masked[u])
        ok = "✓ what the server received" if same else "✗ not what the server received"
        rows.append((f"= y_{u}", run.masked[u], f"   {ok}"))
        for i, (label, vec, note) in enumerate(rows):
            head = f"  client {u}:" if i == 0 else ""
            lines.append(f"{head:<13}{label:<16}{_vec(vec)}{note}")
    if run.total is None:
        lines += ["", f"the server aborted: {run.abort}"]
        return "\n".join(lines)
    steps = run.sum_steps()
    gone = list(run.reconstructed["pairwise"])
    rows = [
        ("Σ y_u", steps["sum_y"], "still looks random"),
        (
            "- Σ PRG(b_u)",
            steps["self"],
            f"self masks: b_u rebuilt for {list(run.reconstructed['self_mask'])}",
        ),
    ]
    if gone:
        rows.append(
            (
                f"- masks with {', '.join(map(str, gone))}",
                steps["dangling"],
                f"s^SK rebuilt for {gone}: the server recomputes them",
            )
        )
    same = np.array_equal(steps["plain"], run.total)
    rows += [
        ("= Σ x_u", steps["result"], "the server's result"),
        ("plain sum of x_u", steps["plain"], "✓ equal" if same else "✗ MISMATCH"),
    ]
    lines += [
        "",
        f"the server adds the y_u of U3 = {list(run.u3)}; a pairwise mask between two survivors",
        "appears once with + and once with -, so it cancels; what is left is removed:",
    ]
    lines += [f"  {label:<18}{_vec(vec)}   {note}" for label, vec, note in rows]
    lines += [
        "",
        "what the server rebuilt, per client:",
    ]
    for u in range(1, cfg.n + 1):
        lines.append(f"  client {u}: {fate(run, u)}")
    lines += [
        "why never both: holding b_u and s_u^SK of one client, the server could strip every mask",
        "from y_u and read x_u. Each holder sends, per client, the share of b_u if u is in the",
        "survivor list it received, else the share of s_u^SK, never both. In semi_honest mode",
        "the server is trusted to send all holders the same list (docs/security.md shows what",
        "a server that does not can learn); active mode's R3 check makes the clients verify it.",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options on its sub-parser."""
    parser.epilog = (
        "A teaching command: it prints throw-away inputs, masks and (with --seed) derives "
        "every key from the seed. Never reuse them."
    )
    parser.add_argument("-n", type=int, default=6, help=f"clients, 3..{MAX_CLIENTS} (default 6)")
    parser.add_argument(
        "-k", type=int, default=4, help="neighbours: n - 1 = complete, else even (default 4)"
    )
    parser.add_argument("-t", type=int, default=3, help="threshold (default 3)")
    parser.add_argument("--dim", type=int, default=4, help="words per vector, 1..8 (default 4)")
    parser.add_argument("--bits", type=int, default=8, help="bits per word, 4..16 (default 8)")
    parser.add_argument(
        "--drop", type=int, default=3, help="the client that drops, 0 for none (default 3)"
    )
    parser.add_argument(
        "--drop-round",
        choices=DROP_ROUNDS,
        default="R2",
        help="R1: before sharing; R2 (default): after sharing, before sending y; R4: after",
    )
    parser.add_argument("--seed", type=int, default=None, help="fix keys and inputs (demo only)")
    parser.add_argument("--out", default=None, help="write the pictures (PNG) into this directory")


def build(args: argparse.Namespace) -> MaskingRun:
    """The run the command line asks for (see :func:`secagg.teach.masks.tiny_session`).

    Raises:
        SecAggError: options out of range or a config rule broken.
    """
    return tiny_session(
        args.n, args.k, args.t, args.dim, args.bits, args.drop, args.drop_round, args.seed
    )


def run(args: argparse.Namespace) -> int:
    """Print the lesson (and draw it with ``--out``).

    Returns:
        0, 1 if the session aborted or a mask did not add up, 2 for bad options.
    """
    try:
        directory = out_dir(args.out) if args.out else None
        lesson = build(args)
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("Masking: each input hidden by masks that cancel in the sum.")
    print("(teaching command: inputs, masks and seeds are throw-away values, printed on purpose)\n")
    print(explain(lesson))
    if directory is not None and lesson.total is not None:
        paths = [
            pictures.save(pictures.masking_graph(lesson), directory / "masking_graph.png"),
            pictures.save(pictures.masking_vectors(lesson), directory / "masking_vectors.png"),
        ]
        print("\npictures: " + ", ".join(str(p) for p in paths))
    return 0 if lesson.total is not None and lesson.masks_add_up() else 1

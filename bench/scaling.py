"""Round time as the cohort grows: JSON lines and a PNG plot.

``python -m bench.scaling [--clients 50 100 200 500 1000] [--dim 100000]
[--dropout 0.1] [--complete-max 200] [--repeats 1] [--out out/bench]``

For each n, one in-process round (:func:`secagg.protocol.runner.run_round`) with the
planner's sparse graph (SecAgg+) and, for n up to ``--complete-max``, one on
the complete graph with t = floor(n/2) + 1 (the original protocol), each with
floor(dropout·n) clients stopping after R1 (the costly case: the server
rebuilds their masking keys and removes their pairwise masks). Prints one JSON
line per round (``metric: "scaling"``) with the median wall time over
``--repeats`` rounds, the client and server time, k, t and whether the round
completed; every completed sum is checked against the plain sum. Writes
``scaling.png`` (round time against n, log-log) to ``--out`` and prints its
path. Clients run one after another in one process, so the time is the sum
of all clients' work plus the server's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from secagg import crypto, prg
from secagg.protocol.config import Config
from secagg.protocol.planner import session_config
from secagg.protocol.runner import run_round

from .core import machine_info


def _round(cfg: Config, dropout: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)  # picks the dropout set only; key material comes from the OS
    n_drop = int(dropout * cfg.n)
    dropped = rng.sample(range(1, cfg.n + 1), n_drop)
    np_rng = np.random.default_rng(seed)
    high = 1 << min(cfg.b, 32)
    inputs = {
        u: np_rng.integers(0, high, size=cfg.m, dtype=np.uint64).astype(cfg.dtype)
        for u in range(1, cfg.n + 1)
    }
    start = time.perf_counter()
    result = run_round(cfg, inputs, dropouts={u: "R2" for u in dropped})
    wall = time.perf_counter() - start
    client_s = sum(v for k, v in result.timings.items() if k.endswith(".client"))
    server_s = sum(v for k, v in result.timings.items() if k.endswith(".server"))
    if result.aborted is None:
        assert result.sum is not None
        expected = np.zeros(cfg.m, dtype=np.uint64)
        for u in result.survivors:
            expected += inputs[u].astype(np.uint64)
        expected &= np.uint64((1 << cfg.b) - 1) if cfg.b < 64 else np.uint64(2**64 - 1)
        if not np.array_equal(result.sum.astype(np.uint64), expected):
            raise SystemExit(f"wrong sum at n={cfg.n}, k={cfg.k}")
    return {
        "wall_s": wall,
        "client_s": client_s,
        "server_s": server_s,
        "aborted": result.aborted,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    ap.add_argument("--clients", type=int, nargs="+", default=[50, 100, 200, 500, 1000])
    ap.add_argument("--dim", type=int, default=100_000, help="m (default 10^5)")
    ap.add_argument("--dropout", type=float, default=0.1, help="fraction stopping after R1")
    ap.add_argument("--corrupt", type=float, default=0.0, help="corrupt rate for the planner")
    ap.add_argument("--complete-max", type=int, default=200, help="largest n on the complete graph")
    ap.add_argument("--repeats", type=int, default=1, help="rounds per point (median)")
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/bench", help="folder for scaling.png")
    args = ap.parse_args(argv)

    info = machine_info()
    info["crypto_backend"] = crypto.backend_name()
    info["implementation"] = prg.selected_implementation()
    print(json.dumps(info), flush=True)

    points: dict[str, list[tuple[int, float]]] = {"sparse": [], "complete": []}
    for n in args.clients:
        rates = {"dropout": args.dropout, "corrupt": args.corrupt}
        planned = session_config(n, args.bits, args.dim, **rates)
        complete = planned.k == n - 1
        configs = [("complete" if complete else "sparse", planned)]
        if n <= args.complete_max and not complete:
            t = n // 2 + 1
            configs.append(
                ("complete", session_config(n, args.bits, args.dim, k=n - 1, t=t, **rates))
            )
        for graph, cfg in configs:
            runs = [_round(cfg, args.dropout, args.seed + r) for r in range(args.repeats)]
            record = {
                "metric": "scaling",
                "graph": graph,
                "n": n,
                "k": cfg.k,
                "t": cfg.t,
                "m": cfg.m,
                "b": cfg.b,
                "dropout": args.dropout,
                "round_s": statistics.median(r["wall_s"] for r in runs),
                "client_s": statistics.median(r["client_s"] for r in runs),
                "server_s": statistics.median(r["server_s"] for r in runs),
                "aborted": [r["aborted"] for r in runs if r["aborted"] is not None],
                "repeats": args.repeats,
            }
            print(json.dumps(record), flush=True)
            if not record["aborted"]:
                points[graph].append((n, record["round_s"]))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # matplotlib is an optional dependency: imported only to draw the plot.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels = {
        "sparse": "SecAgg+ (planner's sparse graph)",
        "complete": "complete graph, t = n/2 + 1",
    }
    for graph, pts in points.items():
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o", label=labels[graph])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clients n")
    ax.set_ylabel("round time, all clients + server (s)")
    ax.set_title(
        f"One round, m = {args.dim:,}, {args.dropout:.0%} dropout after R1 "
        f"({crypto.backend_name()}, {prg.selected_implementation()})"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "scaling.png"
    fig.savefig(path, dpi=110)
    print(f"plot written to {path.resolve()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

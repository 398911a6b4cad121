"""Round time as the cohort grows: JSON lines and a PNG plot.

``python -m bench.scaling [--clients 50 100 200 500 1000] [--dim 100000]
[--dropout 0.1] [--plan-dropout P] [--complete-max 200] [--repeats 1]
[--workers W] [--out out/bench]``

For each n, one in-process round (:func:`secagg.protocol.runner.run_round`) with the
planner's sparse graph (SecAgg+) and, for n up to ``--complete-max``, one on
the complete graph with t = floor(n/2) + 1 (the original protocol), each with
floor(dropout·n) clients stopping after R1 (the costly case: the server
rebuilds their masking keys and removes their pairwise masks). Prints one JSON
line per round (``metric: "scaling"``) with the median wall time over
``--repeats`` rounds, the client and server time, k, t, the peak RSS of the
process running the server and whether the round completed; every
completed sum is checked against the plain sum. Then one ``slope`` line per
graph: the least-squares slope of log(time) against log(n) for the round
and for the server alone (1 is linear, 2 quadratic). Writes ``scaling.png``
(round time against n, log-log) to ``--out`` and prints its path.

With ``--workers 1`` (the default) clients run one after another in this
process, so the round time is the sum of all clients' work plus the
server's. With ``--workers W`` they run in W forked processes and the
server alone in this one, so ``peak_rss_bytes`` is the server's (and the
runner's) memory. Inputs are generated per client when a worker builds it
(seeded by ``--seed`` and the id), never all at once in this process.
The planner sizes the graph for ``--plan-dropout`` (default: ``--dropout``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from secagg import crypto, prg
from secagg.protocol.config import Config
from secagg.protocol.planner import session_config
from secagg.protocol.runner import run_round

from .core import machine_info


class Inputs(Mapping[int, np.ndarray]):
    """Client u's vector, made when asked from (seed, u): n vectors never sit in memory at once."""

    def __init__(self, cfg: Config, seed: int) -> None:
        self.cfg, self.seed = cfg, seed

    def __getitem__(self, u: int) -> np.ndarray:
        if not 1 <= u <= self.cfg.n:
            raise KeyError(u)
        gen = np.random.default_rng([self.seed, u])
        high = 1 << min(self.cfg.b, 32)
        return gen.integers(0, high, size=self.cfg.m, dtype=np.uint64).astype(self.cfg.dtype)

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, self.cfg.n + 1))

    def __len__(self) -> int:
        return self.cfg.n


def _peak_rss_bytes() -> int:
    """Peak resident size of this process (VmHWM), 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _round(cfg: Config, dropout: float, seed: int, workers: int) -> dict[str, Any]:
    rng = random.Random(seed)  # picks the dropout set only; key material comes from the OS
    n_drop = int(dropout * cfg.n)
    dropped = rng.sample(range(1, cfg.n + 1), n_drop)
    inputs = Inputs(cfg, seed)
    start = time.perf_counter()
    result = run_round(cfg, inputs, dropouts={u: "R2" for u in dropped}, workers=workers)
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
        "round_s": result.timings["total"],
        "client_s": client_s,
        "server_s": server_s,
        "server_phases": {k: v for k, v in result.timings.items() if k.endswith(".server")},
        "aborted": result.aborted,
        "survivors": len(result.survivors),
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(y) against log(n); None with fewer than two sizes."""
    if len({n for n, _ in points}) < 2:
        return None
    xs = np.log([n for n, _ in points])
    ys = np.log([y for _, y in points])
    return float(np.polyfit(xs, ys, 1)[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    ap.add_argument("--clients", type=int, nargs="+", default=[50, 100, 200, 500, 1000])
    ap.add_argument("--dim", type=int, default=100_000, help="m (default 10^5)")
    ap.add_argument("--dropout", type=float, default=0.1, help="fraction stopping after R1")
    ap.add_argument(
        "--plan-dropout", type=float, help="dropout rate the planner sizes for (default --dropout)"
    )
    ap.add_argument("--workers", type=int, default=1, help="processes running the clients")
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
    server_points: dict[str, list[tuple[int, float]]] = {"sparse": [], "complete": []}
    planned_rate = args.dropout if args.plan_dropout is None else args.plan_dropout
    for n in args.clients:
        rates = {"dropout": planned_rate, "corrupt": args.corrupt}
        planned = session_config(n, args.bits, args.dim, **rates)
        complete = planned.k == n - 1
        configs = [("complete" if complete else "sparse", planned)]
        if n <= args.complete_max and not complete:
            t = n // 2 + 1
            configs.append(
                ("complete", session_config(n, args.bits, args.dim, k=n - 1, t=t, **rates))
            )
        for graph, cfg in configs:
            runs = [
                _round(cfg, args.dropout, args.seed + r, args.workers) for r in range(args.repeats)
            ]
            record = {
                "metric": "scaling",
                "graph": graph,
                "n": n,
                "k": cfg.k,
                "t": cfg.t,
                "m": cfg.m,
                "b": cfg.b,
                "n_min": cfg.n_min,
                "dropout": args.dropout,
                "workers": args.workers,
                "round_s": statistics.median(r["round_s"] for r in runs),
                "wall_s": statistics.median(r["wall_s"] for r in runs),
                "client_s": statistics.median(r["client_s"] for r in runs),
                "server_s": statistics.median(r["server_s"] for r in runs),
                "server_phases": runs[-1]["server_phases"],
                "survivors": runs[-1]["survivors"],
                "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
                "peak_rss_is": "the server and runner only"
                if args.workers > 1
                else "the whole process, clients included",
                "aborted": [r["aborted"] for r in runs if r["aborted"] is not None],
                "repeats": args.repeats,
            }
            print(json.dumps(record), flush=True)
            if not record["aborted"]:
                points[graph].append((n, record["round_s"]))
                server_points[graph].append((n, record["server_s"]))
    for graph, pts in points.items():
        if len(pts) >= 2:
            record = {
                "metric": "slope",
                "graph": graph,
                "n": [p[0] for p in pts],
                "round_s_slope": slope(pts),
                "server_s_slope": slope(server_points[graph]),
                "note": "least-squares slope of log(time) on log(n): 1 linear, 2 quadratic",
            }
            print(json.dumps(record), flush=True)

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
            fit = slope(pts)
            label = labels[graph] + ("" if fit is None else f" (slope {fit:.2f})")
            ax.plot(xs, ys, marker="o", label=label)
            if graph == "sparse" and server_points[graph]:
                sx, sy = zip(*server_points[graph], strict=True)
                fit = slope(server_points[graph])
                ax.plot(
                    sx,
                    sy,
                    marker="s",
                    linestyle="--",
                    label="server alone" + ("" if fit is None else f" (slope {fit:.2f})"),
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clients n")
    ax.set_ylabel("seconds")
    ax.set_title(
        f"One round, m = {args.dim:,}, {args.dropout:.0%} dropout after R1, "
        f"{args.workers} worker{'s' if args.workers > 1 else ''}\n"
        f"{info.get('cpu', '')} {info.get('microarchitecture') or ''} "
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

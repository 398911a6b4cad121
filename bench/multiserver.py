"""Multi-server additive sharing against the masking path, as JSON lines.

``python -m bench.multiserver [--clients N] [--dim M] [--servers S ...]
[--neighbors K] [--threshold T] [--n-min N_MIN] [--repeat R]``

On one input (n random vectors of m words, b = 32) it times:

- ``multiserver_client``: one client's split + seal + sign
  (:func:`secagg.multiserver.split_update`), per client;
- ``multiserver_server``: per server, receiving and checking all n bundles
  plus computing and signing its partial sum;
- ``masking_client``: one client's time in a whole masking round
  (:func:`secagg.protocol.runner.run_round`, all rounds' client handling summed,
  divided by n), with ``Config(n, t, k, b=32, m, n_min)``.

Every figure is the best of ``--repeat`` runs (other processes share the
cores), both sums are checked against numpy, and the machine line names the
CPU. The last line is ``{"metric": "multiserver_over_masking_client",
"value": R}``: the multi-server client time for the first ``--servers``
value divided by the masking client time.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from secagg import crypto
from secagg.multiserver import run_session
from secagg.protocol.config import Config
from secagg.protocol.runner import run_round

from .core import machine_info


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line and flush."""
    print(json.dumps(record), flush=True)


def _inputs(n: int, m: int, seed: int) -> dict[int, np.ndarray]:
    # Benchmark data, not secrets: a seeded numpy generator is fine here.
    gen = np.random.default_rng(seed)
    return {
        u: gen.integers(0, 2**32, size=m, dtype=np.uint64).astype(np.uint32)
        for u in range(1, n + 1)
    }


def _expected(inputs: dict[int, np.ndarray], members: frozenset[int]) -> np.ndarray:
    total = np.zeros_like(next(iter(inputs.values())))
    for u in members:
        total += inputs[u]  # uint32 arithmetic wraps mod 2^32 = 2^b
    return total


def bench_multiserver(
    inputs: dict[int, np.ndarray], servers: int, n_min: int, repeat: int
) -> dict[str, Any]:
    """Best-of-``repeat`` per-client and per-server times of one session."""
    n = len(inputs)
    best_client = float("inf")
    best_server = [float("inf")] * servers
    for _ in range(repeat):
        out = run_session(inputs, servers=servers, b=32, n_min=n_min)
        if out.aborted is not None or out.sum is None:
            raise RuntimeError(f"multi-server session aborted: {out.aborted}")
        if not np.array_equal(out.sum, _expected(inputs, out.members)):
            raise RuntimeError("multi-server sum differs from the numpy sum")
        best_client = min(best_client, out.timings["client.split"] / n)
        for j in range(servers):
            t = out.timings[f"server.{j}.receive"] + out.timings[f"server.{j}.release"]
            best_server[j] = min(best_server[j], t)
    bundle_bytes = {j: v.bytes_received // n for j, v in enumerate(out.servers)}
    return {"client_s": best_client, "server_s": best_server, "bundle_bytes": bundle_bytes}


def bench_masking(inputs: dict[int, np.ndarray], cfg: Config, repeat: int) -> float:
    """Best-of-``repeat`` per-client time of one masking round (all rounds summed)."""
    best = float("inf")
    for _ in range(repeat):
        res = run_round(cfg, inputs)
        if res.aborted is not None or res.sum is None:
            raise RuntimeError(f"masking round aborted: {res.aborted}")
        if not np.array_equal(res.sum, _expected(inputs, res.survivors)):
            raise RuntimeError("masking sum differs from the numpy sum")
        client = sum(v for k, v in res.timings.items() if k.endswith(".client"))
        best = min(best, client / cfg.n)
    return best


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--dim", type=int, default=10**6)
    ap.add_argument("--servers", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--neighbors", type=int, default=14)
    ap.add_argument("--threshold", type=int, default=8)
    ap.add_argument("--n-min", type=int, default=None, help="default: n - 2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    n, m = args.clients, args.dim
    n_min = args.n_min if args.n_min is not None else max(args.threshold, n - 2)
    emit({**machine_info(), "crypto_backend": crypto.backend_name()})
    cfg = Config(n=n, t=args.threshold, k=args.neighbors, b=32, m=m, n_min=n_min)
    emit({"metric": "config", "n": n, "m": m, "b": 32, "k": cfg.k, "t": cfg.t, "n_min": n_min})
    inputs = _inputs(n, m, args.seed)
    masking_s = bench_masking(inputs, cfg, args.repeat)
    emit({"metric": "masking_client", "seconds": masking_s, "k": cfg.k, "n": n, "m": m})
    first = None
    for s in args.servers:
        r = bench_multiserver(inputs, s, n_min, args.repeat)
        first = r["client_s"] if first is None else first
        emit(
            {
                "metric": "multiserver_client",
                "servers": s,
                "seconds": r["client_s"],
                "over_masking": r["client_s"] / masking_s,
                "bundle_bytes": r["bundle_bytes"],
            }
        )
        for j, t in enumerate(r["server_s"]):
            role = "correction" if j == s - 1 else "seed"
            emit(
                {
                    "metric": "multiserver_server",
                    "servers": s,
                    "server": j,
                    "role": role,
                    "clients": n,
                    "seconds": t,
                }
            )
    assert first is not None
    emit(
        {
            "metric": "multiserver_over_masking_client",
            "value": first / masking_s,
            "servers": args.servers[0],
            "m": m,
        }
    )


if __name__ == "__main__":
    main()

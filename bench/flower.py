"""Flower's SecAgg+ against secagg's Flower adapter, through the same in-process grid.

``python -m bench.flower [--clients 50] [--dim 100000] [--dropout 0.2]
[--neighbors K] [--threshold T] [--runs 5] [--seed S]``

Both run one fit round of a legacy Flower app (``DefaultWorkflow``, a
``NumPyClient`` returning its parameters plus a small update and an example
count) on :class:`secagg.flower.LoopbackGrid`: no sockets, but every message
goes through Flower's own serialisation and every ClientApp call gets a
Context rebuilt from its serialised form, as a SuperNode would. The same N,
vector size m (one float32 array), neighbourhood (Flower's ``num_shares``
counts the node itself: ``num_shares = k + 1``; without ``--neighbors`` the
complete graph), threshold (default: secagg's planner rule for that graph)
and the same dropouts (floor(dropout * N) nodes, chosen with ``--seed``,
vanish when the masked vectors are requested: the costly case, where the
server rebuilds their keys and removes their pairwise masks) for:

- ``flower``: ``secaggplus_mod`` + ``SecAggPlusWorkflow``;
- ``secagg``: ``secagg_mod`` + ``SecAggWorkflow`` with the default crypto
  backend (pyca/cryptography when installed, as Flower uses);
- ``secagg-pycryptodome``: the same, forced to pycryptodome
  (``SECAGG_CRYPTO_BACKEND``), in a child process.

Both encode with clip 8, 2^22 quantisation steps and max weight 1000
(Flower's defaults). Lines printed (JSON): ``machine``, then per
implementation ``flower_run`` (median over ``--runs`` runs of the round's
seconds, per stage: total, inside the ClientApps, in Flower's serialisation,
on the server; bytes per stage down and up and per client; whether the
aggregate matched the weighted mean of the survivors), for secagg also the
seconds in the protocol state machines (``protocol_s``), in the adapter's
code serialising its state and records (``adapter_code_s``: sealing and
restoring the session, the protocol records on both sides, the cached
reply, the node's key and journal), in all the adapter's code
(``adapter_all_code_s``: the node's mod less the app's training, the
protocol and the update's encoding, which adds reading the parameters out
of Flower's records, checks and logging; plus the server's records), in
encoding the update (``encoding_s``) and in serialising the Context that
holds the adapter's state (``adapter_state_s``), then the metrics
``adapter_overhead`` (``adapter_code_s`` plus ``adapter_state_s``, over the
round of the median run), ``adapter_overhead_all_code`` (the same with
``adapter_all_code_s``), ``adapter_overhead_with_message_serialisation``
(adding Flower's serialisation of the protocol-only messages) and
``protocol_share``, ``flower_speedup_pycryptodome``, and last ``{"metric":
"flower_speedup", "value": flower / secagg}`` (medians).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Context, RecordDict
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.compat.common.recorddict_compat import arrayrecord_to_parameters
from flwr.server import ServerConfig
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD

from secagg import crypto
from secagg.encoding import UpdateCodec
from secagg.flower import (
    LoopbackGrid,
    NodeStore,
    SecAggWorkflow,
    client_mod,
    driver,
    node,
    secagg_mod,
)
from secagg.protocol.client import Client
from secagg.protocol.persist.client_blob import ClientExport
from secagg.protocol.server import Server
from secagg.protocol.thresholds import threshold

from .core import machine_info

# What the adapter spends serialising its state and records: sealing and
# restoring the session, the protocol records both ways, the cached reply,
# the node's key and journal (Flower serialising the Context is timed by the grid).
_ADAPTER_PARTS: list[tuple[Any, tuple[str, ...]]] = [
    (ClientExport, ("export", "restore")),
    (client_mod, ("put_payload", "read_payload", "_keep", "_cached_reply", "_digest")),
    (driver, ("put_payload", "read_payload")),
    (NodeStore, ("key", "begin", "finish")),
    (node._Log, ("__init__", "get", "set")),  # the journal: read, look up, append
]

STAGES = ("setup / advertise keys", "share keys", "collect masked vectors", "unmask")
FIRST = 10  # node ids FIRST.. (1 is the SuperLink's)


def _update(p: int, m: int) -> np.ndarray:
    return np.random.default_rng(p).uniform(-0.01, 0.01, m).astype(np.float32)


def _examples(p: int) -> int:
    return 100 + 7 * p


def _app(kind: str, m: int) -> ClientApp:
    def client_fn(context: Context):  # noqa: ANN202 - Flower's signature
        p = int(context.node_config["partition-id"])

        class Trainer(NumPyClient):
            def fit(self, parameters, config):  # noqa: ANN001, ANN202
                return [parameters[0] + _update(p, m)], _examples(p), {}

        return Trainer().to_client()

    if kind == "flower":
        return ClientApp(client_fn=client_fn, mods=[secaggplus_mod])

    def timed_mod(msg: Any, context: Context, call_next: Any) -> Any:
        def timed_app(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return call_next(*args)
            finally:
                _MOD_CLOCK["app"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        try:
            return secagg_mod(msg, context, timed_app)
        finally:
            _MOD_CLOCK["mod"] += time.perf_counter() - t0

    return ClientApp(client_fn=client_fn, mods=[timed_mod])


#: Seconds inside secagg_mod and, within it, inside the rest of the app (training).
_MOD_CLOCK = {"mod": 0.0, "app": 0.0}


def _stage_marker(message: Any) -> str | None:
    if message.has_error():
        return None
    for key in ("secaggplus_configs", "secagg"):
        if key in message.content.config_records:
            return str(message.content.config_records[key].get("stage"))
    return None


class _Timer:
    """Seconds spent in some functions (the protocol state machines), by monkeypatching."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._saved: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str) -> None:
        """Time calls of ``owner.name`` (a function, method or classmethod)."""
        static = inspect.getattr_static(owner, name)
        is_classmethod = isinstance(static, classmethod)
        original = static.__func__ if is_classmethod else static
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - t0

        self._saved.append((owner, name, static))
        setattr(owner, name, classmethod(timed) if is_classmethod else timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def run_once(kind: str, n: int, m: int, k: int, t: int, victims: set[int]) -> dict[str, Any]:
    """One fit round; returns seconds and bytes per stage and whether the mean is right."""
    nodes = [FIRST + p for p in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        configs = {
            nid: {"partition-id": p, "secagg-dir": str(Path(tmp) / f"n{p}")}
            for p, nid in enumerate(nodes)
        }
        for config in configs.values():  # keys provisioned beforehand, as an operator does
            NodeStore(config["secagg-dir"]).key()
        grid = LoopbackGrid(_app(kind, m), nodes, node_configs=configs)
        masked_stage = "collect_masked_vectors" if kind == "flower" else "R2"

        def vanish(nid: int, message: Any) -> None:
            if nid - FIRST in victims and _stage_marker(message) == masked_stage:
                grid.vanish(nid)

        grid.before_delivery = vanish
        if kind == "flower":
            workflow: Any = SecAggPlusWorkflow(num_shares=k + 1, reconstruction_threshold=t)
        else:
            workflow = SecAggWorkflow(
                k=k, t=t, n_min=n - len(victims), dropout=len(victims) / n, timeout=None
            )
        start = np.zeros(m, dtype=np.float32)
        strategy = FedAvg(
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=n,
            min_available_clients=n,
            initial_parameters=ndarrays_to_parameters([start]),
        )
        context = LegacyContext(
            Context(run_id=7, node_id=1, node_config={}, state=RecordDict(), run_config={}),
            config=ServerConfig(num_rounds=1),
            strategy=strategy,
        )
        clock: dict[str, float] = {}
        protocol, node_protocol, encoding = _Timer(), _Timer(), _Timer()
        adapter, driver_records = _Timer(), _Timer()
        _MOD_CLOCK.update(mod=0.0, app=0.0)
        if kind != "flower":
            node_protocol.wrap(Client, "handle")
            for name in ("start", "receive", "close_round"):
                protocol.wrap(Server, name)
            encoding.wrap(UpdateCodec, "encode")
            for cls, names in _ADAPTER_PARTS:
                for name in names:
                    (driver_records if cls is driver else adapter).wrap(cls, name)

        def timed_fit(grid_: Any, ctx: Any) -> None:
            clock["start"] = time.perf_counter()
            workflow(grid_, ctx)
            clock["end"] = time.perf_counter()

        try:
            DefaultWorkflow(fit_workflow=timed_fit)(grid, context)
        finally:
            for timer in (protocol, node_protocol, encoding, adapter, driver_records):
                timer.restore()
        result = parameters_to_ndarrays(
            arrayrecord_to_parameters(context.state.array_records[MAIN_PARAMS_RECORD], True)
        )[0]
    survivors = [p for p in range(n) if p not in victims]
    w = np.array([min(_examples(p), 1000) for p in survivors], dtype=np.float64)
    want = sum(wk * _update(p, m).astype(np.float64) for wk, p in zip(w, survivors, strict=True))
    error = float(np.max(np.abs(result - want / w.sum())))
    report = _report(grid, clock, n, error, protocol.seconds + node_protocol.seconds)
    exchanges = [e for e in grid.exchanges if e.requests][:4]
    # The adapter's own per-message work: its code (sealing and restoring the
    # session, records, the node journal) and Flower serialising the Context,
    # which holds only the adapter's state. Flower serialising the protocol
    # messages themselves (every stage but the first's requests) is reported
    # apart: Flower's SecAgg+ pays that per-message cost for its stages too.
    report["adapter_code_s"] = adapter.seconds + driver_records.seconds
    # Everything else the node's mod does too (reading the global and trained
    # parameters out of Flower's records, checks, logging): its whole time less
    # the app's training, the protocol and the update's encoding.
    node_side = _MOD_CLOCK["mod"] - _MOD_CLOCK["app"] - node_protocol.seconds - encoding.seconds
    report["adapter_all_code_s"] = (node_side if kind != "flower" else 0.0) + driver_records.seconds
    report["encoding_s"] = encoding.seconds
    report["adapter_state_s"] = sum(e.context_seconds for e in exchanges)
    report["protocol_messages_serialisation_s"] = sum(e.up_seconds for e in exchanges) + sum(
        e.down_seconds for e in exchanges[1:]
    )
    return report


def _report(
    grid: LoopbackGrid, clock: dict[str, float], n: int, error: float, protocol: float
) -> dict[str, Any]:
    exchanges = [e for e in grid.exchanges if e.requests][:4]
    stages = []
    previous = clock["start"]
    for i, (name, ex) in enumerate(zip(STAGES, exchanges, strict=False)):
        end = ex.started + ex.seconds
        if i == len(exchanges) - 1:
            end = clock["end"]
        total = end - previous
        stages.append(
            {
                "stage": name,
                "seconds": total,
                "clients_s": ex.client_seconds,
                "serialisation_s": ex.transfer_seconds,
                "server_s": total - ex.seconds,
                "bytes_down": ex.bytes_down,
                "bytes_up": ex.bytes_up,
            }
        )
        previous = end
    round_s = clock["end"] - clock["start"]
    wire = sum(e.bytes_down + e.bytes_up for e in exchanges)
    return {
        "round_s": round_s,
        "stages": stages,
        "bytes_per_client": wire / n,
        "upload_bytes_per_client": sum(e.bytes_up for e in exchanges) / n,
        "max_error": error,
        "protocol_s": protocol,
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose round time is the median (its stages and bytes come along)."""
    ordered = sorted(runs, key=lambda r: r["round_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["round_s_all"] = [round(r["round_s"], 4) for r in runs]
    chosen["round_s_median"] = statistics.median(r["round_s"] for r in runs)
    return chosen


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--dim", type=int, default=100_000)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--neighbors", type=int, default=None, help="k (default n - 1)")
    parser.add_argument("--threshold", type=int, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only", choices=("flower", "secagg"), default=None, help=argparse.SUPPRESS
    )
    return parser


def _measure(kind: str, args: argparse.Namespace, k: int, t: int, victims: set[int]) -> dict:
    runs = [run_once(kind, args.clients, args.dim, k, t, victims) for _ in range(args.runs)]
    median = _median_run(runs)
    return {"bench": "flower_run", "impl": kind, **median}


def main(argv: list[str] | None = None) -> None:
    """Measure both implementations and print JSON lines."""
    import logging

    logging.getLogger("flwr").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    n, m = args.clients, args.dim
    k = n - 1 if args.neighbors is None else args.neighbors
    drops = int(args.dropout * n)
    t = args.threshold or threshold(n, k, 0, "semi_honest", drops)
    victims = set(np.random.default_rng(args.seed).choice(n, drops, replace=False).tolist())
    if args.only is not None:  # child process: one implementation, one JSON line
        print(json.dumps(_measure(args.only, args, k, t, victims)))
        return
    print(json.dumps({"bench": "flower", "machine": machine_info()}))
    print(
        json.dumps(
            {
                "bench": "flower",
                "config": {"n": n, "m": m, "k": k, "t": t, "dropouts": sorted(victims)},
            }
        )
    )
    flower = _measure("flower", args, k, t, victims)
    print(json.dumps({**flower, "backend": "flower (pyca/cryptography)"}))
    ours = _measure("secagg", args, k, t, victims)
    print(json.dumps({**ours, "backend": crypto.backend_name()}))
    child = _child(argv, "pycryptodome")
    if child is not None:
        print(json.dumps({**child, "impl": "secagg-pycryptodome", "backend": "pycryptodome"}))
    adapter = ours["adapter_code_s"] + ours["adapter_state_s"]
    for metric, value in (
        ("adapter_overhead", adapter / ours["round_s"]),
        (
            "adapter_overhead_all_code",
            (ours["adapter_all_code_s"] + ours["adapter_state_s"]) / ours["round_s"],
        ),
        (
            "adapter_overhead_with_message_serialisation",
            (adapter + ours["protocol_messages_serialisation_s"]) / ours["round_s"],
        ),
        ("protocol_share", ours["protocol_s"] / ours["round_s"]),
    ):
        print(json.dumps({"bench": "flower", "metric": metric, "value": value}))
    if child is not None:
        print(
            json.dumps(
                {
                    "bench": "flower",
                    "metric": "flower_speedup_pycryptodome",
                    "value": flower["round_s_median"] / child["round_s_median"],
                }
            )
        )
    print(
        json.dumps(
            {"metric": "flower_speedup", "value": flower["round_s_median"] / ours["round_s_median"]}
        )
    )


def _child(argv: list[str] | None, backend: str) -> dict[str, Any] | None:
    """Run the secagg measurement in a child process with the crypto backend forced."""
    env = {**os.environ, "SECAGG_CRYPTO_BACKEND": backend}
    cmd = [sys.executable, "-m", "bench.flower", *(argv or sys.argv[1:]), "--only", "secagg"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        print(
            json.dumps(
                {"bench": "flower", "error": f"{backend} run failed", "stderr": out.stderr[-2000:]}
            )
        )
        return None
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()

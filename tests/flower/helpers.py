"""Flower apps with known updates, and the loopback runs the adapter tests share.

Every node's training is deterministic: node ``p`` (its partition id) in
round ``r`` returns the global parameters plus :func:`delta` (p, r) and
reports :func:`examples` (p) examples, so each test can compute the weighted
mean of exactly the survivors the round reports and compare the aggregate
with it, within the quantisation bound of the codec (:func:`tolerance`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import ServerConfig
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import DefaultWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.serverapp.strategy import FedAvg

from secagg.flower import LoopbackGrid, SecAggStrategy, SecAggWorkflow, Settings
from secagg.flower.client_mod import secagg_mod, secagg_train_mod
from secagg.flower.driver import RoundOutcome

SHAPES = ((24, 16), (5,))  # the masked vector exceeds INLINE_LIMIT: it travels as an Array
DTYPES = (np.float32, np.float64)
FIRST_NODE = 100


def initial() -> list[np.ndarray]:
    """The starting global parameters: small values of two shapes and dtypes."""
    return [np.full(s, 0.25, dtype=d) for s, d in zip(SHAPES, DTYPES, strict=True)]


def delta(p: int, r: int) -> list[np.ndarray]:
    """Node p's update in round r (within the default clip)."""
    rng = np.random.default_rng(1000 * r + p)
    return [rng.uniform(-0.5, 0.5, s).astype(d) for s, d in zip(SHAPES, DTYPES, strict=True)]


def examples(p: int) -> int:
    """Node p's example count (uneven, so the weights matter)."""
    return 37 * (p + 1) + 11 * (p % 3)


def _train(p: int, r: int, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    if r < 0:
        raise RuntimeError("training failed on purpose")
    return [(a + d).astype(a.dtype) for a, d in zip(arrays, delta(p, r), strict=True)]


def _failing(context: Context) -> bool:
    return bool(context.node_config.get("fail-training", False))


def legacy_app() -> ClientApp:
    """A legacy ClientApp(client_fn, mods=[secagg_mod]) with known updates."""

    def client_fn(context: Context):  # noqa: ANN202 - Flower's signature
        p = int(context.node_config["partition-id"])

        class Client(NumPyClient):
            def fit(self, parameters, config):  # noqa: ANN001, ANN202
                r = -1 if _failing(context) else int(config["round"])
                return _train(p, r, parameters), examples(p), {"loss": 0.5}

        return Client().to_client()

    return ClientApp(client_fn=client_fn, mods=[secagg_mod])


def message_app(mods: Sequence = (secagg_train_mod,)) -> ClientApp:
    """A Message-API ClientApp with @app.train() and (by default) secagg_train_mod."""
    app = ClientApp(mods=list(mods))

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        p = int(context.node_config["partition-id"])
        r = -1 if _failing(context) else int(msg.content["config"]["server-round"])
        record = msg.content["arrays"]
        new = _train(p, r, record.to_numpy_ndarrays())
        arrays = ArrayRecord({k: Array(a) for k, a in zip(record.keys(), new, strict=True)})
        metrics = MetricRecord({"num-examples": examples(p), "loss": 0.5})
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    return app


def make_grid(
    app: ClientApp, n: int, tmp: Path, extra: dict[int, dict] | None = None
) -> LoopbackGrid:
    """A loopback grid of n nodes (ids 100..), each with its own node directory."""
    nodes = [FIRST_NODE + p for p in range(n)]
    configs = {
        nid: {"partition-id": p, "secagg-dir": str(tmp / f"node-{p}"), **(extra or {}).get(p, {})}
        for p, nid in enumerate(nodes)
    }
    return LoopbackGrid(app, nodes, node_configs=configs)


@dataclass
class Run:
    """What a run of several rounds produced."""

    outcomes: list[RoundOutcome]
    globals_: list[list[np.ndarray]]  # the global parameters before each round, then after the last
    grid: LoopbackGrid


class _RoundConfig(LegacyFedAvg):
    """Legacy FedAvg that tells the clients the round (so training is reproducible)."""

    def configure_fit(self, server_round, parameters, client_manager):  # noqa: ANN001, ANN201
        pairs = super().configure_fit(server_round, parameters, client_manager)
        for _, fitins in pairs:
            fitins.config["round"] = server_round
        return pairs


def run_legacy(grid: LoopbackGrid, n: int, rounds: int, settings: Settings) -> Run:
    """Run DefaultWorkflow(fit_workflow=SecAggWorkflow) for some rounds over the grid."""
    workflow = SecAggWorkflow(settings)
    strategy = _RoundConfig(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=n,
        min_available_clients=n,
        initial_parameters=ndarrays_to_parameters(initial()),
    )
    context = LegacyContext(
        Context(run_id=7, node_id=1, node_config={}, state=RecordDict(), run_config={}),
        config=ServerConfig(num_rounds=rounds),
        strategy=strategy,
    )
    seen: list[list[np.ndarray]] = []

    def fit(grid_: LoopbackGrid, ctx: LegacyContext) -> None:
        record = ctx.state.array_records[MAIN_PARAMS_RECORD]
        seen.append(_legacy_arrays(record))
        workflow(grid_, ctx)

    DefaultWorkflow(fit_workflow=fit)(grid, context)
    seen.append(_legacy_arrays(context.state.array_records[MAIN_PARAMS_RECORD]))
    return Run(workflow.outcomes, seen, grid)


def _legacy_arrays(record: ArrayRecord) -> list[np.ndarray]:
    from flwr.compat.common.recorddict_compat import arrayrecord_to_parameters

    return parameters_to_ndarrays(arrayrecord_to_parameters(record, keep_input=True))


def run_message(grid: LoopbackGrid, rounds: int, settings: Settings) -> Run:
    """Run SecAggStrategy(FedAvg).start() for some rounds over the grid."""
    strategy = SecAggStrategy(FedAvg(fraction_evaluate=0.0, min_available_nodes=2), settings)
    seen: list[list[np.ndarray]] = []
    inner = strategy.configure_train

    def configure(server_round, arrays, config, grid_):  # noqa: ANN001, ANN202
        seen.append(arrays.to_numpy_ndarrays())
        return inner(server_round, arrays, config, grid_)

    strategy.configure_train = configure  # type: ignore[method-assign]
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord(initial()), num_rounds=rounds)
    # start() keeps the last released arrays; none released means the initial ones.
    seen.append(result.arrays.to_numpy_ndarrays() if len(result.arrays) else seen[-1])
    return Run(strategy.outcomes, seen, grid)


def partition(nid: int) -> int:
    """The partition id of a loopback node."""
    return nid - FIRST_NODE


def expected(global_: Sequence[np.ndarray], survivors: Iterable[int], r: int) -> list[np.ndarray]:
    """The global parameters plus the weighted mean of the survivors' updates."""
    ps = [partition(nid) for nid in survivors]
    w = np.array([examples(p) for p in ps], dtype=np.float64)
    out = []
    for i, g in enumerate(global_):
        num = sum(wk * delta(p, r)[i].astype(np.float64) for wk, p in zip(w, ps, strict=True))
        out.append(g.astype(np.float64) + num / w.sum())
    return out


def tolerance(settings: Settings, survivors: Sequence[int]) -> float:
    """Largest deviation the codec's quantisation allows in a coordinate of the mean."""
    spec = settings.codec_spec
    n = len(survivors)
    weight = sum(min(examples(partition(nid)), spec.max_weight) for nid in survivors)
    weight /= spec.max_weight
    bound = (n / spec.scale + spec.clip * n / 2.0**spec.quantization_bits) / weight
    return bound + 1e-6  # float32 rounding of the parameters


def assert_aggregate(run: Run, r: int, settings: Settings) -> None:
    """Round r's released model is the weighted mean of exactly its survivors."""
    outcome = run.outcomes[r - 1]
    assert outcome.completed, outcome.reason
    want = expected(run.globals_[r - 1], outcome.survivors, r)
    got = run.globals_[r]
    tol = tolerance(settings, outcome.survivors)
    for g, w in zip(got, want, strict=True):
        assert np.max(np.abs(g.astype(np.float64) - w)) <= tol, (np.max(np.abs(g - w)), tol)
    total = sum(examples(partition(nid)) for nid in outcome.survivors)
    assert abs(outcome.total_weight - total) <= len(outcome.survivors) * 1e-3


def stage_of(message: Message) -> str | None:
    """The secure-aggregation stage a request carries (None if none)."""
    if message.has_error() or "secagg" not in message.content.config_records:
        return None
    return str(message.content.config_records["secagg"]["stage"])


def vanish_at(grid: LoopbackGrid, victims: dict[int, tuple[int, str]]) -> Callable:
    """A before_delivery hook: node -> (round, stage) at which it vanishes."""
    rounds: dict[int, int] = {}

    def hook(nid: int, message: Message) -> None:
        stage = stage_of(message)
        if stage == "R0":
            rounds[nid] = rounds.get(nid, 0) + 1
        if nid in victims and (rounds.get(nid), stage) == victims[nid]:
            grid.vanish(nid)

    return hook


def quiet_flower_logs() -> None:
    """Keep Flower's INFO chatter out of the test output."""
    logging.getLogger("flwr").setLevel(logging.WARNING)

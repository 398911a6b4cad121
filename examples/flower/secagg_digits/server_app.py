"""The ServerApp: FedAvg whose training rounds go through secagg.

``SecAggStrategy`` wraps Flower's ``FedAvg``: each round it samples the
nodes, runs secagg's protocol in ``train`` messages (the nodes train in its
first stage) and hands FedAvg the aggregate only. The server evaluates the
global model on the held-out digits after every round. With ``out-dir`` set,
each round's outcome (survivors, total weight, failure reason) and released
parameters are written there (the repository's tests read them).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from secagg.flower import SecAggStrategy, Settings

from .task import evaluate, initial_params, split

app = ServerApp()


def _settings(run: dict) -> Settings:
    """The secagg knobs from the run config (0 means: the planner chooses)."""
    return Settings(
        dropout=float(run["dropout"]),
        k=int(run["k"]) or None,
        t=int(run["t"]) or None,
        n_min=int(run["n-min"]) or None,
        clip=float(run["clip"]),
        max_weight=float(run["max-weight"]),
        timeout=float(run["stage-timeout"]),
    )


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run ``num-server-rounds`` rounds of FedAvg with secure aggregation."""
    run = context.run_config
    _, test = split(int(run["seed"]))

    def central_evaluation(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        loss, accuracy = evaluate(arrays.to_numpy_ndarrays(), test)
        return MetricRecord({"loss": loss, "accuracy": accuracy})

    strategy = SecAggStrategy(
        FedAvg(
            fraction_train=1.0,
            fraction_evaluate=float(run["fraction-evaluate"]),
            min_available_nodes=int(run["min-nodes"]),
        ),
        _settings(run),
    )
    initial = ArrayRecord(initial_params())
    strategy.start(
        grid=grid,
        initial_arrays=initial,
        num_rounds=int(run["num-server-rounds"]),
        evaluate_fn=central_evaluation,
    )
    if run["out-dir"]:
        _write_outcomes(Path(str(run["out-dir"])), strategy, initial)


def _write_outcomes(out: Path, strategy: SecAggStrategy, initial: ArrayRecord) -> None:
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "round-0.npz", *initial.to_numpy_ndarrays())
    for outcome in strategy.outcomes:
        r = outcome.server_round
        summary = {
            "round": r,
            "completed": outcome.completed,
            "reason": outcome.reason,
            "survivors": [str(nid) for nid in outcome.survivors],
            "total_weight": outcome.total_weight,
            "dropped": {str(k): v for k, v in outcome.dropped.items()},
        }
        (out / f"round-{r}.json").write_text(json.dumps(summary))
        if outcome.model is not None:
            np.savez(out / f"round-{r}.npz", *outcome.model.arrays)

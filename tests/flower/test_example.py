"""The example app (examples/flower) in Flower's simulation engine and in a real deployment.

Both tests start real Flower processes on 127.0.0.1 (:mod:`.cluster`), run
``flwr run`` of the example for two rounds, read the run's status from
``flwr ls`` (``flwr run`` exits 0 even when the ServerApp crashed) and
compare every released model with the reference: the previous global model
plus the weighted mean of the survivors' updates, recomputed here with the
example's own deterministic training.
"""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("flwr", reason="the flower extra is not installed")

from secagg.flower.settings import CodecSpec  # noqa: E402

from .cluster import EXAMPLE, Cluster  # noqa: E402

pytestmark = [pytest.mark.flower, pytest.mark.slow]


def _task():
    spec = importlib.util.spec_from_file_location(
        "example_task", EXAMPLE / "secagg_digits" / "task.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TASK = _task()
CONFIG = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["flwr"]["app"]["config"]


def _reference(global_: list[np.ndarray], partitions: list[int], parts: int, r: int):
    """Global + the weighted mean update of these partitions, and their total weight."""
    spec = CodecSpec(float(CONFIG["clip"]), 22, float(CONFIG["max-weight"]))
    num = [np.zeros_like(g) for g in global_]
    total = 0.0
    for p in partitions:
        data = TASK.partition(p, parts, int(CONFIG["seed"]), float(CONFIG["alpha"]))
        trained, _ = TASK.train(
            global_,
            data,
            epochs=int(CONFIG["local-epochs"]),
            lr=float(CONFIG["lr"]),
            batch_size=int(CONFIG["batch-size"]),
            seed=int(CONFIG["seed"]),
            partition_id=p,
            server_round=r,
        )
        w = min(float(data[1].size), spec.max_weight)
        total += w
        for acc, t, g in zip(num, trained, global_, strict=True):
            acc += w * (t - g)
    mean = [g + a / total for g, a in zip(global_, num, strict=True)]
    n = len(partitions)
    bound = (n / spec.scale + spec.clip * n / 2.0**spec.quantization_bits) / (
        total / spec.max_weight
    )
    return mean, total, bound


def _check_rounds(out: Path, survivors_of_round, parts: int, rounds: int = 2) -> None:
    """Each round completed and released exactly the reference model of its survivors."""
    global_ = list(np.load(out / "round-0.npz").values())
    for r in range(1, rounds + 1):
        summary = json.loads((out / f"round-{r}.json").read_text())
        assert summary["completed"], summary
        partitions = survivors_of_round(r, summary["survivors"])
        assert partitions, summary
        want, total, bound = _reference(global_, partitions, parts, r)
        got = list(np.load(out / f"round-{r}.npz").values())
        for g, w in zip(got, want, strict=True):
            assert np.max(np.abs(g - w)) <= bound, (r, np.max(np.abs(g - w)), bound)
        assert abs(summary["total_weight"] - total) <= 1e-3 * len(partitions)
        global_ = got


def test_example_in_the_simulation_engine(tmp_path: Path):
    """10 simulated SuperNodes, 2 rounds: completed, every aggregate equals the reference."""
    pytest.importorskip("ray", reason="flwr[simulation] is not installed")
    cluster = Cluster(tmp_path, budget=240)
    out = tmp_path / "out"
    try:
        cluster.superlink(simulation=True, num_supernodes=10)
        cluster.wait_for("the SuperLink", lambda: "runs" in cluster.flwr("ls", "loopback"), 60)
        run_id = cluster.run(EXAMPLE, f"out-dir='{out}' stage-timeout=60.0")
        entry = cluster.wait_finished(run_id, 200)
        assert entry["status"] == "finished:completed", entry
    finally:
        cluster.close()
    # Simulated node ids say nothing of partitions: all ten must have survived.
    _check_rounds(out, lambda r, ids: list(range(10)) if len(ids) == 10 else [], 10)


def test_a_real_deployment_survives_a_killed_supernode(tmp_path: Path):
    """SuperLink + 3 SuperNodes: a clean 2-round run, then one with a SuperNode SIGKILLed
    after key sharing in round 1; both complete with the reference aggregates."""
    run_config = "stage-timeout=30.0 k=2 t=2 n-min=2"
    cluster = Cluster(tmp_path, budget=330)
    try:
        cluster.superlink()
        nodes = [cluster.supernode(p, 3) for p in range(3)]
        cluster.wait_for("3 SuperNodes online", lambda: len(cluster.online_nodes()) == 3, 90)

        clean = tmp_path / "out-clean"
        run_id = cluster.run(EXAMPLE, f"out-dir='{clean}' {run_config}")
        entry = cluster.wait_finished(run_id, 150)
        assert entry["status"] == "finished:completed", entry
        partition_of = cluster.node_ids()
        _check_rounds(clean, lambda r, ids: sorted(partition_of[i] for i in ids), 3)

        victim = nodes[2]
        seen = victim.text().count("Receiving: train message")
        killed = tmp_path / "out-killed"
        run_id = cluster.run(EXAMPLE, f"out-dir='{killed}' {run_config}")
        # Its third train message of the run is R2: it shared its keys in R1 and
        # is killed before its ClientApp can answer.
        cluster.wait_for(
            "the victim's R2 request",
            lambda: victim.text().count("Receiving: train message") >= seen + 3,
            90,
        )
        cluster.kill(victim)
        # A supervisor restarts the node (a new node id, same partition): round 2
        # then has three live nodes, plus the dead one while the SuperLink still
        # lists it (it then vanishes before sharing keys).
        cluster.supernode(2, 3, name="supernode-2-restarted")
        entry = cluster.wait_finished(run_id, 200)
        assert entry["status"] == "finished:completed", entry
    finally:
        cluster.close()
    partition_of = cluster.node_ids()
    first = json.loads((killed / "round-1.json").read_text())
    assert sorted(partition_of[i] for i in first["survivors"]) == [0, 1]
    assert any(v.startswith("R2") for v in first["dropped"].values()), first
    _check_rounds(killed, lambda r, ids: sorted(partition_of[i] for i in ids), 3)
    second = json.loads((killed / "round-2.json").read_text())
    # The restarted node is in round 2 unless it registered after the sampling.
    assert sorted(partition_of[i] for i in second["survivors"]) in ([0, 1, 2], [0, 1])

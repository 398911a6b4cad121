"""pytest-benchmark cases for whole protocol rounds (``make bench``).

Sizes are small (2 shared cores); ``python -m bench.protocol`` is the tool for
the target sizes. In a normal test session benchmarks are disabled and each
body runs once, as a smoke test that also checks the sum.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import protocol
from secagg.protocol.config import Config
from secagg.protocol.planner import session_config
from secagg.protocol.runner import run_round
from secagg.protocol.vocabulary import Mode


def _round(cfg: Config, dropped: list[int]):
    x = np.arange(cfg.m, dtype=np.uint64).astype(cfg.dtype) % (1 << min(cfg.b, 16))
    inputs = {u: x for u in range(1, cfg.n + 1)}
    res = run_round(cfg, inputs, dropouts={u: "R2" for u in dropped})
    assert res.aborted is None, res.aborted
    want = (x.astype(np.uint64) * len(res.survivors)) % (1 << cfg.b)
    assert np.array_equal(res.sum.astype(np.uint64), want)
    return res


@pytest.mark.parametrize("n,m", [(20, 10_000), (50, 10_000), (20, 100_000)])
def test_round_planner_20pct_dropout(benchmark, n: int, m: int) -> None:
    """Planner's (k, t), 20% of clients stop after R1: one round, exact sum."""
    cfg = session_config(n, 32, m, dropout=0.2, corrupt=0.0)
    dropped = protocol.dropout_set(n, 0.2, seed=1)
    benchmark.extra_info.update(k=cfg.k, t=cfg.t)
    benchmark.pedantic(_round, args=(cfg, dropped), rounds=3, iterations=1)


def test_round_complete_graph(benchmark) -> None:
    """Complete graph n = 30, t = 16, 20% dropout after R1."""
    cfg = session_config(30, 32, 10_000, dropout=0.2, corrupt=0.0, k=29, t=16, n_min=16)
    benchmark.pedantic(_round, args=(cfg, protocol.dropout_set(30, 0.2, 1)), rounds=3)


def test_round_active_mode(benchmark) -> None:
    """Active mode (signatures, R3), complete graph n = 10, one dropout after R1."""
    cfg = session_config(
        10, 32, 10_000, dropout=0.1, corrupt=0.0, mode=Mode.ACTIVE, registry_digest=b"\1" * 32
    )
    benchmark.pedantic(_round, args=(cfg, [4]), rounds=3)


def test_cli_prints_every_metric(capsys) -> None:
    """bench.protocol prints the documented JSON lines, each parseable."""
    code = protocol.main(
        [
            "--clients",
            "12",
            "--dim",
            "2000",
            "--dropout",
            "0.25",
            "--trials",
            "2",
            "--openssl-seconds",
            "1",
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = {rec["metric"] for rec in lines}
    for metric in (
        "machine",
        "config",
        "phase",
        "bytes_per_client",
        "outcome",
        "round_s",
        "keystream_bytes",
        "round_over_aes_floor",
        "server_memory",
        "abort_rate",
    ):
        assert metric in names, metric
    machine = next(rec for rec in lines if rec["metric"] == "machine")
    assert machine["crypto_backend"] and machine["core_implementation"]


def test_cli_child_process_memory(capsys) -> None:
    """--memory child reports the server's own peak RSS above its baseline."""
    code = protocol.main(
        [
            "--clients",
            "8",
            "--dim",
            "50000",
            "--dropout",
            "0.25",
            "--memory",
            "child",
            "--openssl-seconds",
            "1",
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mem = next(rec for rec in lines if rec["metric"] == "server_memory")
    assert mem["baseline_rss_bytes"] > 0 and mem["peak_rss_bytes"] >= mem["baseline_rss_bytes"]
    outcome = next(rec for rec in lines if rec["metric"] == "outcome")
    assert outcome["aborted"] is None and outcome["survivors"] == 6

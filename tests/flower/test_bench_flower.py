"""Smoke test of bench.flower: both implementations run, aggregate correctly, print the metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flwr", reason="the flower extra is not installed")

pytestmark = pytest.mark.flower

ROOT = Path(__file__).resolve().parents[2]


def test_bench_flower_prints_both_runs_and_the_speedup():
    """Small N and m: Flower's SecAgg+ and ours both release the survivors' mean; last line
    is the flower_speedup metric."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.flower", "--clients", "6", "--dim", "300", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    runs = {line["impl"]: line for line in lines if line.get("bench") == "flower_run"}
    assert set(runs) == {"flower", "secagg", "secagg-pycryptodome"}
    for run in runs.values():
        assert run["max_error"] < 1e-3
        assert [s["stage"] for s in run["stages"]][-1] == "unmask"
    assert runs["secagg"]["upload_bytes_per_client"] < runs["flower"]["upload_bytes_per_client"]
    assert lines[-1]["metric"] == "flower_speedup" and lines[-1]["value"] > 0

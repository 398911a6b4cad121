"""Smoke tests of the benchmark scripts that are not covered elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scaling_script_prints_json_lines_and_writes_plot(tmp_path: Path) -> None:
    """bench.scaling prints one completed 'scaling' line per graph and n, and a PNG."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.scaling",
            "--clients",
            "8",
            "12",
            "--dim",
            "64",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    scaling = [r for r in records if r.get("metric") == "scaling"]
    assert {(r["graph"], r["n"]) for r in scaling} == {
        ("sparse", 8),
        ("complete", 8),
        ("sparse", 12),
        ("complete", 12),
    }
    assert all(r["round_s"] > 0 and not r["aborted"] for r in scaling)
    assert (tmp_path / "scaling.png").stat().st_size > 1000


def test_bench_protocol_builds_its_config_with_session_config() -> None:
    """bench.protocol's config is secagg's session_config for every way of giving k and t."""
    from bench.protocol import build_parser, choose_config
    from secagg.protocol.planner import session_config

    base = ["--clients", "20", "--dim", "8", "--dropout", "0.2", "--corrupt", "0.1"]
    cases = (([], None, None), (["--neighbors", "6"], 6, None), (["--threshold", "4"], None, 4))
    for extra, k, t in cases:
        cfg, how = choose_config(build_parser().parse_args(base + extra))
        want = session_config(20, 32, 8, dropout=0.2, corrupt=0.1, k=k, t=t)
        assert cfg == want, (extra, how)

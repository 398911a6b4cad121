"""Smoke test of python -m bench.aggregators at a tiny, insecure size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("phe")
pytest.importorskip("gmpy2")

ROOT = Path(__file__).resolve().parents[1]


def test_aggregators_bench_prints_every_path_and_ends_with_the_speedup() -> None:
    """The bench runs every path (multi-server included) on a 512-bit key and its last line
    is the packed speedup."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.aggregators",
            "--dim",
            "300",
            "--key-bits",
            "512",
            "--sample",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    seen = {(r.get("path"), r["metric"]) for r in records}
    for needed in (
        (None, "machine"),
        ("paillier_packed", "client_encrypt_s"),
        ("paillier_packed", "client_prove_s"),
        ("paillier_packed", "proof_verify_s"),
        ("paillier_packed", "keyholder_decrypt_s"),
        ("paillier_packed", "threshold_share_s"),
        ("paillier_packed", "threshold_combine_s"),
        ("paillier_per_value", "client_encrypt_s"),
        ("masking", "round_s"),
        ("multiserver", "client_s"),
        ("multiserver", "server_s"),
        ("multiserver", "bundle_bytes"),
    ):
        assert needed in seen, needed
    assert all(r["extrapolated"] for r in records if r.get("path") == "paillier_per_value")
    assert records[-1]["metric"] == "paillier_packed_speedup" and records[-1]["value"] > 1

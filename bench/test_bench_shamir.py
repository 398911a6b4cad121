"""Shamir benchmarks (pytest-benchmark): split, reconstruct and Reed-Solomon decoding.

Sizes: one 32-byte secret (a PROTOCOL.md section 3 secret) shared to h holders
at t = floor(2h/3) + 1, the active-mode threshold, for h = 10, 100, 1000.
Run with ``make bench`` (benchmarks enabled); the normal test session runs
each case once with benchmarking disabled, as a smoke test.

Targets on one core: split to 1000 holders at t = 667 in <= 5 ms, reconstruct
in <= 2 ms.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from secagg import shamir

HOLDERS = [10, 100, 1000]


def _threshold(h: int) -> int:
    return 2 * h // 3 + 1


@pytest.fixture(scope="module", params=HOLDERS, ids=lambda h: f"h{h}")
def setup(request):
    """A secret, its holders, the random tape and the shares for one holder count."""
    h = request.param
    t = _threshold(h)
    secret = os.urandom(32)
    xs = list(range(1, h + 1))
    rand = os.urandom(shamir.random_bytes_needed(32, t))
    shares = shamir.split([secret], t, xs, rand)[0]
    return h, t, secret, xs, rand, shares


def test_bench_split(benchmark, setup):
    """Split one 32-byte secret to h holders (Python API, fixed random tape)."""
    h, t, secret, xs, rand, _ = setup
    benchmark.extra_info.update(holders=h, t=t, secret_len=32)
    out = benchmark(shamir.split, [secret], t, xs, rand)
    assert len(out[0]) == h


def test_bench_split_fresh_randomness(benchmark, setup):
    """Split with the default os.urandom tape (what the protocol calls)."""
    h, t, secret, xs, _, _ = setup
    benchmark.extra_info.update(holders=h, t=t, secret_len=32)
    out = benchmark(shamir.split, [secret], t, xs)
    assert len(out[0]) == h


def test_bench_reconstruct(benchmark, setup):
    """Reconstruct one 32-byte secret from t shares (Lagrange coefficients included)."""
    h, t, secret, xs, _, shares = setup
    benchmark.extra_info.update(holders=h, t=t, secret_len=32)
    assert benchmark(shamir.reconstruct, xs, shares, t, 32) == secret


def test_bench_reconstruct_many(benchmark, setup):
    """Reconstruct 16 secrets held by the same t holders (one Lagrange computation)."""
    h, t, _, xs, _, _ = setup
    secrets = [os.urandom(32) for _ in range(16)]
    rows = shamir.split(secrets, t, xs)
    benchmark.extra_info.update(holders=h, t=t, secret_len=32, secrets=16)
    assert benchmark(shamir.reconstruct_many, xs, rows, t, 32) == secrets


def test_bench_rs_decode(benchmark, setup):
    """Reed-Solomon decode from all h shares with floor((h - t)/2) of them wrong."""
    h, t, secret, xs, _, shares = setup
    rng = np.random.default_rng(0)
    received = list(shares)
    bad = sorted(int(j) for j in rng.permutation(h)[: (h - t) // 2])
    for j in bad:
        received[j] = b"".join(
            int(v).to_bytes(8, "little") for v in rng.integers(0, shamir.P, size=5)
        )
    benchmark.extra_info.update(holders=h, t=t, secret_len=32, wrong=len(bad))
    got, wrong = benchmark.pedantic(
        shamir.decode, args=(xs, received, t, 32), rounds=3 if h >= 1000 else 10, iterations=1
    )
    assert got == secret
    assert wrong == tuple(xs[j] for j in bad)

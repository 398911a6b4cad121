"""What the server holds of one client's masked input looks like uniform noise.

The server sees y_u = x_u + PRG(b_u) + Σ ±PRG(s_uv) mod 2^b. Each test runs
real rounds (``run_round(..., transcript="full")``, fixed seeds) and applies a
statistical test to the y_u the server received.

Thresholds: every chi-square test rejects at p < 1e-6, i.e. at the
``scipy.stats.chi2.ppf(1 - 1e-6, df)`` quantile. With the fixed seeds each
test is deterministic; the threshold says how unlucky another seed would
have to be to fail an honest implementation (one chance in a million per
test), while a leak of x_u (an unmasked word, a mask that cancels, a PRG with
short period or biased top bits) drives the statistic orders of magnitude
above it, as the negative controls below show on the same data sizes.
Correlations use a 6-sigma bound, 6/sqrt(m), for the same reason.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers import det_rng
from scipy import stats

from secagg.protocol.config import Config
from secagg.protocol.runner import run_round

ALPHA = 1e-6


def masked(
    cfg: Config, inputs: dict[int, np.ndarray], seed: bytes, dropouts: dict[int, str] | None = None
) -> dict[int, np.ndarray]:
    """The masked inputs the server received in one real round."""
    res = run_round(
        cfg,
        inputs,
        dropouts=dropouts,
        transcript="full",
        rng=det_rng(seed),
        nonce=hashlib.sha256(b"nonce/" + seed).digest(),
    )
    assert res.aborted is None, res.aborted
    assert res.masked_inputs is not None
    return res.masked_inputs


def chi2_uniform(values: np.ndarray, bins: int) -> tuple[float, float]:
    """Chi-square statistic of ``values`` (in 0..bins-1) against uniform, and its threshold."""
    counts = np.bincount(values.astype(np.int64), minlength=bins)
    assert counts.size == bins
    stat = float(stats.chisquare(counts).statistic)
    return stat, float(stats.chi2.ppf(1 - ALPHA, bins - 1))


def _inputs(cfg: Config, victim: np.ndarray, seed: int = 0) -> dict[int, np.ndarray]:
    gen = np.random.default_rng(seed)  # test data only
    out = {1: victim.astype(cfg.dtype)}
    for u in range(2, cfg.n + 1):
        out[u] = gen.integers(0, 1 << cfg.b, size=cfg.m, dtype=np.uint64).astype(cfg.dtype)
    return out


M_WORDS = 1 << 16


@pytest.mark.parametrize(
    "victim",
    ["zeros", "max", "ramp"],
)
def test_masked_words_are_uniform(victim: str) -> None:
    """Top and bottom 8 bits of y_u pass chi-square for structured x_u (zeros, max, ramp)."""
    cfg = Config(n=4, t=3, n_min=3, k=3, b=32, m=M_WORDS)
    x = {
        "zeros": np.zeros(M_WORDS, dtype=np.uint32),
        "max": np.full(M_WORDS, 2**32 - 1, dtype=np.uint32),
        "ramp": np.arange(M_WORDS, dtype=np.uint32) * 65537,
    }[victim]
    y = masked(cfg, _inputs(cfg, x), b"uniform/" + victim.encode())[1]
    for part in (y >> 24, y & 0xFF, (y >> 12) & 0xFF):
        stat, limit = chi2_uniform(part, 256)
        assert stat < limit, (victim, stat, limit)
    # Negative control on the same size: the structured input itself fails badly
    # (zeros and max are constant; the ramp's low byte only takes multiples of 1).
    if victim != "ramp":
        stat, limit = chi2_uniform(x >> 24, 256)
        assert stat > 100 * limit


def test_masked_words_uniform_for_small_b() -> None:
    """With b = 3 every residue of y_u is equally likely, whatever x_u."""
    m = 1 << 15
    cfg = Config(n=3, t=2, n_min=2, k=2, b=3, m=m)
    x = np.full(m, 5, dtype=np.uint32)
    y = masked(cfg, _inputs(cfg, x), b"small-b")[1]
    stat, limit = chi2_uniform(y, 8)
    assert stat < limit
    # Control: a mask that leaks the input's bias (y = x + mask with a biased mask).
    biased = (x + (np.arange(m) % 2).astype(np.uint32)) % 8
    assert chi2_uniform(biased, 8)[0] > 100 * limit


def test_masked_input_uncorrelated_with_input() -> None:
    """Pearson correlation of y_u with x_u (and of their bits) is within 6/sqrt(m) of 0."""
    m = M_WORDS
    cfg = Config(n=5, t=3, n_min=3, k=4, b=16, m=m)
    gen = np.random.default_rng(7)
    x = gen.integers(0, 1 << 16, size=m).astype(np.uint32)
    y = masked(cfg, _inputs(cfg, x, seed=8), b"correlation")[1]
    bound = 6 / np.sqrt(m)
    assert abs(np.corrcoef(x.astype(float), y.astype(float))[0, 1]) < bound
    for bit in (0, 7, 15):
        xb = ((x >> bit) & 1).astype(float)
        yb = ((y >> bit) & 1).astype(float)
        assert abs(np.corrcoef(xb, yb)[0, 1]) < bound
    # Control: a mask of only 8 random bits (too short for 16-bit words) leaks x.
    weak = (x + (y & 0xFF)) % (1 << 16)
    assert np.corrcoef(x.astype(float), weak.astype(float))[0, 1] > 0.9


def test_two_very_different_inputs_give_the_same_distribution() -> None:
    """y_u for x_u = 0 and for x_u = 2^b - 1 pass a two-sample chi-square (top 8 bits)."""
    m = M_WORDS
    cfg = Config(n=4, t=3, n_min=3, k=3, b=32, m=m)
    y0 = masked(cfg, _inputs(cfg, np.zeros(m, dtype=np.uint32)), b"two/0")[1]
    y1 = masked(cfg, _inputs(cfg, np.full(m, 2**32 - 1, dtype=np.uint32)), b"two/1")[1]
    table = np.vstack(
        [
            np.bincount((y0 >> 24).astype(np.int64), minlength=256),
            np.bincount((y1 >> 24).astype(np.int64), minlength=256),
        ]
    )
    chi2, p, dof, _ = stats.chi2_contingency(table)
    assert dof == 255
    assert p > ALPHA, (chi2, p)
    ks = stats.ks_2samp(y0.astype(float), y1.astype(float))
    assert ks.pvalue > ALPHA


def test_fresh_masks_across_sessions() -> None:
    """The same x_u in 256 sessions: y_u's first word is uniform over 16 top-bit bins."""
    cfg = Config(n=3, t=2, n_min=2, k=2, b=32, m=2)
    x = np.array([0, 12345], dtype=np.uint32)
    firsts = []
    for i in range(256):
        y = masked(cfg, _inputs(cfg, x, seed=i), b"session/%d" % i)[1]
        firsts.append(int(y[0]) >> 28)
    stat, limit = chi2_uniform(np.array(firsts), 16)
    assert stat < limit
    assert len(set(firsts)) > 8


def test_uniform_after_neighbour_dropout_on_sparse_graph() -> None:
    """On a Harary graph with a neighbour dropped before R2, y_u is still uniform."""
    m = M_WORDS
    cfg = Config(n=8, t=3, n_min=3, k=4, b=32, m=m)
    got = masked(cfg, _inputs(cfg, np.zeros(m, dtype=np.uint32)), b"sparse", {2: "R1", 5: "R2"})
    for u, y in got.items():
        if u in (2, 5):
            continue
        stat, limit = chi2_uniform(y >> 24, 256)
        assert stat < limit, (u, stat, limit)

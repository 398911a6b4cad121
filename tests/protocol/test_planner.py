"""Tests for secagg.protocol.planner against a deliberately naive exact implementation."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.exceptions import InvalidInputError
from secagg.protocol.config import Config
from secagg.protocol.planner import Plan, plan
from secagg.protocol.thresholds import corrupt_holders_bound, count_of
from secagg.protocol.vocabulary import Mode

# ------------------------------------------------------------------ naive reference
# Direct summation with math.comb, every tail recomputed from scratch for
# every (k, c): O(n^2) binomials per plan, written to be obviously §6.


def _comb0(a: int, b: int) -> int:
    return math.comb(a, b) if 0 <= b <= a else 0


def _naive_quantile(N: int, K: int, k: int, bits: int, n: int) -> tuple[int, Fraction]:
    """Least c with Pr[X > c] <= 2^-bits / n, X ~ Hypergeometric(N, K, k), and that tail."""
    total = math.comb(N, k)
    pmf = [_comb0(K, x) * _comb0(N - K, k - x) for x in range(k + 1)]
    for c in range(k + 1):
        tail = Fraction(sum(pmf[c + 1 :]), total)
        if tail <= Fraction(1, n * 2**bits):
            return c, tail
    raise AssertionError("unreachable: the tail at c = k is zero")


def _naive_plan(n: int, dropout: float, corrupt: float, mode: str = "semi_honest") -> tuple | None:
    D = math.floor(Fraction(str(dropout)) * n)
    C = math.floor(Fraction(str(corrupt)) * n)
    if mode == "semi_honest":
        for k in range(2, n - 1, 2):
            c, pc = _naive_quantile(n - 1, C, k, 41, n)
            d, pd = _naive_quantile(n - 1, D, k, 20, n)
            t = max(2, c + 1)  # t > c is the privacy condition on a ring; no majority rule
            n_min = max(t, n - D)
            r = C + (n - n_min)  # corrupt plus missing clients
            conn = Fraction(math.comb(n, 2) * _comb0(n - k, r - k), math.comb(n, r))
            if t <= k - d and conn <= Fraction(1, 2**41):
                return (k, t, c, d, n_min, False, float(pc), float(pd), float(conn))
    k = n - 1
    if mode == "semi_honest":
        t = max(C + 1, n // 2 + 1)  # a majority costs no degree on the complete graph ...
        if t > n - 1 - D:
            t = max(2, C + 1)  # ... unless it is not live
    else:
        t = (k + 1 + C) // 2 + 1
    if t <= k - D:
        return (k, t, C, D, max(t, n - D), True, 0.0, 0.0, 0.0)
    return None


def _as_tuple(p: Plan) -> tuple:
    return (
        p.k,
        p.t,
        p.c,
        p.d,
        p.n_min,
        p.complete,
        p.p_corrupt_exceeds,
        p.p_dropout_exceeds,
        p.p_disconnect,
    )


# ------------------------------------------------------------------ pinned vectors
# Computed with _naive_plan above (and equal to the planner's output).

PINNED = [
    # (n, dropout, corrupt, mode) ->
    #     (k, t, c, d, n_min, complete, p_corrupt, p_dropout, p_disconnect)
    (
        (100, 0.2, 0.0, "semi_honest"),
        (18, 2, 0, 13, 80, False, 0.0, 2.365410082013971e-09, 3.0670634403479536e-14),
    ),
    (
        (1000, 0.1, 0.05, "semi_honest"),
        (
            36,
            19,
            18,
            17,
            900,
            False,
            2.2833214904236554e-17,
            4.748157623511701e-10,
            2.1227011816984654e-26,
        ),
    ),
    # The same (k, t) = (72, 24) that production SecAgg+ chooses for this case.
    (
        (1000, 0.33, 0.05, "semi_honest"),
        (
            72,
            24,
            23,
            48,
            670,
            False,
            2.2704347249899075e-16,
            2.829346511141838e-10,
            2.8613726924494854e-27,
        ),
    ),
    ((50, 0.2, 0.1, "semi_honest"), (16, 6, 5, 10, 40, False, 0.0, 0.0, 0.0)),
    ((10, 0.4, 0.0, "semi_honest"), (6, 2, 0, 4, 6, False, 0.0, 0.0, 0.0)),
    ((60, 0.3, 0.1, "active"), (59, 34, 6, 18, 42, True, 0.0, 0.0, 0.0)),
    # Complete graph, semi_honest: a live majority, or t = max(2, c + 1) when not live.
    ((5, 0.2, 0.0, "semi_honest"), (4, 3, 0, 1, 4, True, 0.0, 0.0, 0.0)),
    ((5, 0.4, 0.0, "semi_honest"), (4, 2, 0, 2, 3, True, 0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize(("args", "expected"), PINNED)
def test_pinned_vectors(args: tuple, expected: tuple) -> None:
    """The planner reproduces the pinned (input -> k, t, c, d, probabilities) vectors."""
    n, dropout, corrupt, mode = args
    result = plan(n, dropout, corrupt, mode)
    assert _as_tuple(result) == expected
    assert result.mode is Mode(mode)
    assert result.dropouts == math.floor(Fraction(str(dropout)) * n)


@pytest.mark.parametrize(("args", "expected"), PINNED)
def test_pinned_vectors_match_naive(args: tuple, expected: tuple) -> None:
    """The pinned vectors are what the naive direct summation computes."""
    assert _naive_plan(*args) == expected


_rates = st.integers(0, 90).map(lambda i: i / 100)


@settings(max_examples=200)
@given(n=st.integers(3, 64), dropout=_rates, corrupt=_rates, active=st.booleans())
def test_matches_naive(n: int, dropout: float, corrupt: float, active: bool) -> None:
    """For small n the incremental planner equals the naive one, refusals included."""
    mode = "active" if active else "semi_honest"
    if Fraction(str(dropout)) + Fraction(str(corrupt)) > Fraction(9, 10):
        with pytest.raises(InvalidInputError, match="exceeds 0.9"):
            plan(n, dropout, corrupt, mode)
        return
    expected = _naive_plan(n, dropout, corrupt, mode)
    if expected is None:
        with pytest.raises(InvalidInputError, match="no graph is live"):
            plan(n, dropout, corrupt, mode)
    else:
        assert _as_tuple(plan(n, dropout, corrupt, mode)) == expected


@settings(max_examples=30)
@given(
    n=st.integers(150, 400),
    dropout=st.integers(0, 30).map(lambda i: i / 100),
    corrupt=st.integers(0, 30).map(lambda i: i / 100),
)
def test_matches_naive_medium(n: int, dropout: float, corrupt: float) -> None:
    """Medium n, realistic rates: still identical to the naive planner."""
    assert _as_tuple(plan(n, dropout, corrupt)) == _naive_plan(n, dropout, corrupt)


@settings(max_examples=40)
@given(n=st.integers(3, 300), data=st.data(), rate=_rates)
def test_corrupt_holders_bound_matches_naive(n: int, data: st.DataObject, rate: float) -> None:
    """corrupt_holders_bound is the naive least c with tail <= 2^-41/n (C on the complete graph)."""
    k = data.draw(st.integers(1, n - 1))
    corrupt = count_of(rate, n)
    got = corrupt_holders_bound(n, k, corrupt)
    if k == n - 1:
        assert got == corrupt
    else:
        assert got == _naive_quantile(n - 1, corrupt, k, 41, n)[0]


@pytest.mark.parametrize(
    ("n", "k", "corrupt"), [(20, 16, 18), (20, 2, 18), (50, 30, 45), (9, 7, 8)]
)
def test_corrupt_bound_nearly_all_marked(n: int, k: int, corrupt: int) -> None:
    """Almost every client marked (zero pmf terms below k - (N - K)) still matches naive."""
    assert corrupt_holders_bound(n, k, corrupt) == _naive_quantile(n - 1, corrupt, k, 41, n)[0]


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize(
    "args",
    [(10_000, 0.1, 0.05), (10_000, 0.3, 0.1), (10_000, 0.05, 0.0), (10_000, 0.45, 0.0)],
)
def test_large_plans_meet_their_bounds(args: tuple) -> None:
    """For n = 10 000 every reported bound holds and the plan builds a valid Config."""
    p = plan(*args)
    assert not p.complete and p.k % 2 == 0
    assert p.t <= p.k - p.d
    assert p.t == max(2, p.c + 1)
    assert p.n_min == max(p.t, p.n - p.dropouts)
    assert p.p_corrupt_exceeds <= 2.0**-41 / p.n
    assert p.p_dropout_exceeds <= 2.0**-20 / p.n
    assert p.p_disconnect <= 2.0**-41
    cfg = p.config(b=32, m=1000)
    assert (cfg.k, cfg.t, cfg.c, cfg.n_min) == (p.k, p.t, p.c, p.n_min)


def test_plan_is_least_k() -> None:
    """No smaller even k than the chosen one meets the bounds (checked naively at n = 300)."""
    n, dropout, corrupt = 300, 0.15, 0.1
    p = plan(n, dropout, corrupt)
    D, C = count_of(dropout, n), count_of(corrupt, n)
    for k in range(2, p.k, 2):
        c, _ = _naive_quantile(n - 1, C, k, 41, n)
        d, _ = _naive_quantile(n - 1, D, k, 20, n)
        conn = Fraction(math.comb(n, 2) * _comb0(n - k, C + D - k), math.comb(n, C + D))
        assert max(2, c + 1) > k - d or conn > Fraction(1, 2**41)


def test_active_is_complete() -> None:
    """Active plans always use the complete graph with t = floor((h + c)/2) + 1."""
    p = plan(200, 0.1, 0.1, Mode.ACTIVE)
    assert p.complete and p.k == 199
    assert p.t == (200 + 20) // 2 + 1
    cfg = p.config(b=16, m=10, registry_digest=b"\x01" * 32)
    assert cfg.mode is Mode.ACTIVE


def test_active_config_needs_digest() -> None:
    """An active plan's config still refuses an all-zero registry digest."""
    with pytest.raises(InvalidInputError, match="registry digest"):
        plan(20, 0.1, 0.1, "active").config(b=16, m=10)


def test_plan_config_n_min() -> None:
    """Plan.config uses the plan's n_min = n - D, accepts a larger one, refuses a smaller one."""
    p = plan(100, 0.2, 0.0)
    assert p.n_min == 80 and p.config(b=32, m=5).n_min == 80
    assert p.config(b=32, m=5, n_min=90).n_min == 90
    with pytest.raises(InvalidInputError, match="never lower it, got n_min = 79"):
        p.config(b=32, m=5, n_min=79)


def test_corrupt_rate_is_required() -> None:
    """γ is an explicit planner input: plan(n, dropout) without it is a TypeError."""
    with pytest.raises(TypeError, match="corrupt"):
        plan(100, 0.2)  # type: ignore[call-arg]


def test_exact_fraction_rates() -> None:
    """A Fraction rate is exact: 1/3 of 30 clients is 10, where the float 1/3 gives 9."""
    assert plan(30, Fraction(1, 3), 0.0).dropouts == 10
    assert count_of(1 / 3, 30) == 9


def test_high_dropout_no_longer_forces_dense_graphs() -> None:
    """plan(1000, 0.33) needs k = 38, t = 2 (the old majority rule forced k = 230)."""
    p = plan(1000, 0.33, 0.0)
    assert (p.k, p.t, p.n_min) == (38, 2, 670)


@pytest.mark.parametrize(
    ("n", "corrupt", "dropout", "k", "t"),
    [
        # Production SecAgg+ (honest-but-curious server) published (k, t) for these inputs.
        (1000, 0.05, 0.33, 72, 24),
        (10_000, 0.05, 0.33, 86, 29),
        (100_000, 0.05, 0.33, 96, 32),
        (1000, 0.33, 0.33, 286, 150),
        (1000, 0.33, 0.05, 78, 60),
    ],
)
def test_agrees_with_production_parameter_finder(
    n: int, corrupt: float, dropout: float, k: int, t: int
) -> None:
    """For n >= 1000 the planner picks the (k, t) production SecAgg+ picks (docs/parameters.md)."""
    p = plan(n, dropout, corrupt)
    assert (p.k, p.t) == (k, t)


def test_numpy_integers_accepted() -> None:
    """A numpy integer n plans exactly like the Python int."""
    import numpy as np

    assert plan(np.int64(100), 0.2, 0.0) == plan(100, 0.2, 0.0)
    assert corrupt_holders_bound(np.int32(1000), np.int64(36), np.int16(50)) == (
        corrupt_holders_bound(1000, 36, 50)
    )


def test_rates_read_as_decimals() -> None:
    """0.29 of 100 clients is 29 (not floor(28.999...)); integer 0 is accepted."""
    assert count_of(0.29, 100) == 29
    assert count_of(0, 100) == 0
    assert plan(100, 0.29, 0.0).dropouts == 29


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((100, 0.5, 0.41), "exceeds 0.9"),
        ((10, 0.85, 0.0), "no graph is live"),
        ((2, 0.1, 0.0), "n must be an integer in 3"),
        ((100.0, 0.1, 0.0), "n must be an integer"),
        ((100, 1.0, 0.0), "dropout must be a number in \\[0, 1\\)"),
        ((100, -0.1, 0.0), "dropout"),
        ((100, float("nan"), 0.0), "dropout"),
        ((100, 0.1, float("inf")), "corrupt"),
        ((100, "0.1", 0.0), "dropout must be a number"),
        ((100, 0.1, 0.0, "byzantine"), "mode must be"),
    ],
)
def test_refusals(args: tuple, match: str) -> None:
    """Bad arguments and infeasible rates raise InvalidInputError naming the problem."""
    with pytest.raises(InvalidInputError, match=match):
        plan(*args)


def test_refusal_message_names_values() -> None:
    """An infeasible plan's message names D, C and the failing inequality."""
    with pytest.raises(InvalidInputError) as info:
        plan(10, 0.85, 0.0)
    msg = str(info.value)
    assert "D = 8" in msg and "t = 2" in msg and "9 - 8 = 1" in msg


def test_planned_configs_valid_across_rates() -> None:
    """Every plan over a grid of rates yields a Config that passes §6."""
    for n in (3, 4, 7, 64):
        for dropout in (0.0, 0.1, 0.3):
            for corrupt in (0.0, 0.1, 0.3):
                try:
                    p = plan(n, dropout, corrupt)
                except InvalidInputError:
                    assert _naive_plan(n, dropout, corrupt) is None
                    continue
                assert isinstance(p.config(b=8, m=1), Config)

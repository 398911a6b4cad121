"""FLConfig against the planner: the dropout it plans for, the corrupt rate, refusals."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fl.cli import _config, build_parser
from fl.config import PLANNED_DROPOUT_TAIL, FLConfig, binomial_quantile, live_dropouts
from fl.plan import build_plan
from secagg.exceptions import InvalidInputError
from secagg.protocol.planner import plan
from secagg.protocol.thresholds import count_of

RATES = st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5, 0.6, 0.7, 0.85, 0.9, 0.95])


def _plans(n: int, dropout: object, corrupt: float, mode: str) -> bool:
    try:
        plan(n, dropout, corrupt, mode)
    except InvalidInputError:
        return False
    return True


@settings(max_examples=150)
@given(
    n=st.integers(3, 60),
    dropout=st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.3, 0.5]),
    corrupt=RATES,
    mode=st.sampled_from(["semi_honest", "active"]),
)
def test_config_exists_exactly_when_the_planner_can_plan_it(n, dropout, corrupt, mode):
    """FLConfig constructs iff the planner has a graph at D = 0, and then the
    planner accepts the dropout fraction the config hands it."""
    try:
        cfg = FLConfig(n_clients=n, dropout=dropout, corrupt=corrupt, mode=mode)
    except InvalidInputError as exc:
        assert not _plans(n, 0.0, corrupt, mode), str(exc)
        assert f"n = {n}" in str(exc) and f"corrupt rate {corrupt}" in str(exc)
        return
    assert _plans(n, cfg.planner_dropout, corrupt, mode)


@pytest.mark.parametrize("n", [4, 5, 6, 10, 12])
def test_small_active_cohorts_plan_at_ten_percent_dropout(n):
    """Active mode at 10 % dropout plans for the binomial quantile of dropouts capped at
    what the complete graph keeps live, instead of more than any graph keeps live."""
    cfg = FLConfig(n_clients=n, dropout=0.1, mode="active")
    p = plan(n, cfg.planner_dropout, 0.0, "active")
    quantile = binomial_quantile(n, 0.1, PLANNED_DROPOUT_TAIL)
    assert p.dropouts == min(quantile, live_dropouts(n, 0, "active"))
    assert p.t <= n - 1 - p.dropouts


def test_live_dropouts_is_the_planners_limit():
    """The planner plans for live_dropouts(n, C, mode) dropouts and refuses one more
    (both within its 0.9 cap on the rate sum); at -1 it refuses even none."""
    cap = Fraction(9, 10)
    for n in range(3, 40):
        for corrupt in range(n):
            rate = Fraction(corrupt, n)
            for mode in ("semi_honest", "active"):
                d = live_dropouts(n, corrupt, mode)
                if rate + Fraction(max(d, 0), n) <= cap:
                    assert _plans(n, Fraction(max(d, 0), n), rate, mode) == (d >= 0)
                if d + 1 < n and rate + Fraction(d + 1, n) <= cap:
                    assert not _plans(n, Fraction(d + 1, n), rate, mode)


@pytest.mark.parametrize("mode", ["semi_honest", "active"])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25])
def test_session_c_follows_the_corrupt_option(mode, rate):
    """--corrupt RATE reaches the session config: C = floor(rate x n) in the plan, and c =
    C on the complete graph (active mode), at most C on a sparse one."""
    args = build_parser().parse_args(["--clients", "12", "--mode", mode, "--corrupt", str(rate)])
    cfg = _config(args)
    p = build_plan(cfg, [np.zeros(5)], max_weight=10.0)
    assert p.colluders == count_of(rate, 12) == math.floor(rate * 12)
    if mode == "active":
        assert p.config.c == p.colluders and p.config.k == 11
        assert p.config.t == (12 + p.colluders) // 2 + 1
    else:
        assert p.config.c <= p.colluders


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_clients": 4, "mode": "active", "corrupt": 0.5}, ["n = 4", "C = 2", "<= 1"]),
        ({"n_clients": 20, "mode": "active", "corrupt": 0.9}, ["n = 20", "C = 18", "<= 17"]),
        ({"n_clients": 20, "corrupt": 0.95}, ["n = 20", "up to 0.9", "at most 0.9"]),
        ({"corrupt": 1.0}, ["corrupt must lie in [0, 1)"]),
    ],
)
def test_unplannable_corrupt_rates_are_refused_in_one_sentence(kwargs, words):
    """A corrupt rate no graph can serve is refused up front, naming n, the rates and
    what to change."""
    with pytest.raises(InvalidInputError) as info:
        FLConfig(**kwargs)
    text = str(info.value)
    assert all(w in text for w in words), text
    assert "\n" not in text and text.count(". ") == 0

"""Tests for secagg.dp: integer noise samplers, their variances, and RDP accounting."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg import dp
from secagg.encoding import Layout, UpdateCodec
from secagg.exceptions import InvalidInputError


def test_samplers_are_integer_valued():
    """Every sampler returns int64 vectors of the requested length."""
    rng = np.random.default_rng(0)
    for x in (
        dp.sample_skellam(3.5, 1000, rng),
        dp.sample_discrete_laplace(2.5, 1000, rng),
        dp.sample_discrete_gaussian(2.25, 50, lambda k: int(rng.integers(0, k))),
    ):
        assert x.dtype == np.int64 and x.ndim == 1


def test_skellam_variance_matches_target():
    """Skellam(mu) has variance 2 mu. With N = 200000 samples the sample variance
    has relative standard error sqrt((kurtosis - 1) / N) ~ sqrt(2 / N) = 0.32 %
    (excess kurtosis 1/(2 mu) is negligible), so a 2 % tolerance is over 6 standard
    errors; the seed is fixed."""
    x = dp.sample_skellam(25.0, 200_000, np.random.default_rng(11))
    assert abs(x.var() / 50.0 - 1) < 0.02
    assert abs(x.mean()) < 6 * math.sqrt(50.0 / x.size)


def test_discrete_laplace_variance_matches_target():
    """Discrete Laplace(t) has variance 2p/(1-p)^2, p = exp(-1/t). Its kurtosis is
    about 6, so the sample variance of N = 200000 draws has relative standard error
    ~ sqrt(5 / N) = 0.5 %; the 3 % tolerance is 6 standard errors (fixed seed)."""
    t = 3.0
    x = dp.sample_discrete_laplace(t, 200_000, np.random.default_rng(12))
    target = dp.discrete_laplace_variance(t)
    assert abs(x.var() / target - 1) < 0.03


def test_discrete_gaussian_variance_and_shape():
    """The exact CKS sampler at sigma^2 = 4: the variance of N_Z(0, 4) equals 4 to
    within 1e-9, and N = 4000 draws estimate it with relative standard error
    sqrt(2 / N) = 2.2 %, so 12 % is over 5 standard errors; the frequency of 0
    matches its exact probability within 5 standard errors (fixed seed)."""
    rng = np.random.default_rng(13)
    x = dp.sample_discrete_gaussian(4.0, 4000, lambda k: int(rng.integers(0, k)))
    assert abs(x.var() / 4.0 - 1) < 0.12
    support = np.arange(-40, 41)
    pmf = np.exp(-(support**2) / 8.0)
    pmf /= pmf.sum()
    p0 = pmf[40]
    assert abs(np.mean(x == 0) - p0) < 5 * math.sqrt(p0 * (1 - p0) / x.size)


def test_bernoulli_exp_is_exact_in_law():
    """Bernoulli(exp(-gamma)) for gamma = 1/2 and 3/2: frequencies match within 5 s.e."""
    rng = np.random.default_rng(14)
    s = dp.DiscreteGaussianSampler(lambda k: int(rng.integers(0, k)))
    for gamma in (Fraction(1, 2), Fraction(3, 2)):
        p = math.exp(-float(gamma))
        hits = sum(s.bernoulli_exp(gamma) for _ in range(20_000))
        assert abs(hits / 20_000 - p) < 5 * math.sqrt(p * (1 - p) / 20_000)


def test_default_noise_is_fresh():
    """Without an injected generator two draws differ (CSPRNG-seeded per call)."""
    assert not np.array_equal(dp.sample_skellam(10.0, 64), dp.sample_skellam(10.0, 64))


def test_skellam_rdp_hand_computed():
    """At alpha = 2, variance 100, D1 = 3, D2 = 2: 2*4/200 + min(30/40000, 9/200) = 0.04075."""
    assert dp.skellam_rdp([2], 100.0, 3.0, 2.0)[0] == pytest.approx(0.04075, rel=1e-12)


def test_epsilon_conversion_hand_computed():
    """One order alpha = 2, RDP 0.04075, delta 1e-5: eps = r + ln(1/2) - ln(2e-5)."""
    eps = dp.epsilon_from_rdp([2.0], [0.04075], 1e-5)
    assert eps == pytest.approx(0.04075 + math.log(0.5) - math.log(2e-5), rel=1e-12)


def test_ddg_single_client_is_gaussian():
    """With one client (tau = 0) the DDG bound is the Gaussian one: rho = D2^2/(2 sigma^2)."""
    rdp = dp.distributed_discrete_gaussian_rdp([3.0], 4.0, 1, 10, 1.0, 1.0)
    assert rdp[0] == pytest.approx(3 * 1.0 / (2 * 4.0))


def test_skellam_approaches_gaussian_for_large_variance():
    """For large variance the Skellam RDP tends to the Gaussian alpha D2^2/(2 mu)."""
    r = dp.skellam_rdp([8], 1e8, 10.0, 10.0)[0]
    assert r == pytest.approx(8 * 100 / 2e8, rel=1e-3)


@pytest.mark.parametrize("kind", ["skellam", "gaussian"])
def test_accounting_monotone_in_noise_and_rounds(kind):
    """Epsilon falls as the noise multiplier grows and rises with the number of rounds."""

    def eps(z: float, rounds: int) -> float:
        return dp.DistributedDP(kind, z, 200.0, 100, 10).epsilon(rounds, 1e-5)

    by_noise = [eps(z, 10) for z in (0.5, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(by_noise, by_noise[1:], strict=False))
    by_rounds = [eps(1.0, r) for r in (1, 5, 20, 80)]
    assert all(a < b for a, b in zip(by_rounds, by_rounds[1:], strict=False))


def test_more_survivors_means_less_epsilon_and_too_few_refused():
    """A sum over more honest shares costs less; fewer than n_min - colluders is refused."""
    m = dp.DistributedDP("skellam", 1.0, 100.0, 50, n_min=8, colluders=2)
    assert m.honest_min == 6
    assert m.round_rdp(10)[5] < m.round_rdp(6)[5]
    with pytest.raises(InvalidInputError, match="fewer than"):
        m.round_rdp(5)


def test_calibration_meets_target_tightly():
    """The calibrated multiplier meets the target, and 1 % less noise would not."""
    m = dp.DistributedDP.calibrate(
        4.0, 1e-5, 20, kind="skellam", l2_sensitivity=300.0, dim=200, n_min=10, colluders=1
    )
    assert m.epsilon(20, 1e-5) <= 4.0
    weaker = dp.DistributedDP("skellam", m.noise_multiplier * 0.99, 300.0, 200, 10, 1)
    assert weaker.epsilon(20, 1e-5) > 4.0
    assert m.per_client_variance == pytest.approx((m.noise_multiplier * 300.0) ** 2 / 9)


def test_local_dp_epsilon_and_scale():
    """Local DP: scale = 2 D1 / eps; over R rounds eps never exceeds R * eps (basic composition)."""
    m = dp.LocalDP(0.5, 10.0, 400)
    assert m.l1_sensitivity == pytest.approx(min(20 * 10.0, 100.0))
    assert m.scale == pytest.approx(2 * m.l1_sensitivity / 0.5)
    assert m.epsilon(3, 1e-5) <= 1.5 + 1e-12
    assert m.epsilon(3, 1e-5) > m.epsilon(1, 1e-5)


def test_noise_stays_within_ring_headroom():
    """Sampled noise stays within noise_bound, so an encoded noisy update never wraps."""
    m = dp.DistributedDP("skellam", 1.0, 50.0, 100, 5)
    bound = m.noise_bound(5)
    x = np.concatenate([m.sample(100, np.random.default_rng(s)) for s in range(50)])
    assert np.max(np.abs(x)) <= bound
    codec = UpdateCodec(Layout.of([np.zeros(100)]), 1.0, 8.0, 5, l2_clip=1.0, noise_bound=bound)
    enc = codec.encode([np.zeros(100)], noise=m.noise_fn())
    assert enc.length == 101


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "laplace"},
        {"noise_multiplier": 0.0},
        {"l2_sensitivity": -1.0},
        {"dim": 0},
        {"n_min": 3, "colluders": 3},
    ],
)
def test_distributed_dp_validation(kwargs):
    """Bad mechanism parameters raise InvalidInputError."""
    base = {
        "kind": "skellam",
        "noise_multiplier": 1.0,
        "l2_sensitivity": 1.0,
        "dim": 4,
        "n_min": 3,
        "colluders": 0,
    }
    base.update(kwargs)
    with pytest.raises(InvalidInputError):
        dp.DistributedDP(**base)


def test_bad_accounting_inputs():
    """Non-integer Skellam orders, bad delta and a wrong-length RDP curve are refused."""
    with pytest.raises(InvalidInputError):
        dp.skellam_rdp([1.5], 10.0, 1.0, 1.0)
    with pytest.raises(InvalidInputError):
        dp.epsilon_from_rdp([2.0], [0.1], 0.0)
    acc = dp.PrivacyAccountant()
    with pytest.raises(InvalidInputError):
        acc.charge(np.zeros(3))


def test_skellam_epsilon_matches_dp_accounting_gaussian_in_the_limit():
    """With a large sensitivity (hence variance) the Skellam accountant's epsilon
    agrees with dp-accounting's own Gaussian mechanism within 1 %."""
    import dp_accounting
    from dp_accounting.rdp import rdp_privacy_accountant as rdp

    z, rounds = 1.2, 30
    ours = dp.DistributedDP("skellam", z, 1e5, 10, n_min=1).epsilon(rounds, 1e-5)
    acc = rdp.RdpAccountant(list(dp.DEFAULT_ORDERS))
    acc.compose(dp_accounting.GaussianDpEvent(z), rounds)
    assert ours == pytest.approx(acc.get_epsilon(1e-5), rel=0.01)


def test_ddg_two_clients_hand_computed():
    """n = 2, sigma^2 = 1/4, d = 4, D1 = 2, D2 = 1, alpha = 2: tau = 10 exp(-pi^2/4),
    and the first of Proposition 14's three terms, 2 + 4 tau, is the smallest."""
    tau = 10 * math.exp(-(math.pi**2) / 4)
    a, b = 1 / math.sqrt(0.5), 2 / math.sqrt(0.5)
    terms = [a * a + 4 * tau, a * a + 2 * b * tau + 4 * tau * tau, (a + 2 * tau) ** 2]
    assert min(terms) == terms[0] == pytest.approx(2 + 4 * tau)
    got = dp.distributed_discrete_gaussian_rdp([2.0], 0.25, 2, 4, 2.0, 1.0)[0]
    assert got == pytest.approx(2 + 4 * tau, rel=1e-12)


def _dlaplace_loss(x: np.ndarray, x2: np.ndarray, scale: float) -> float:
    """Largest log-ratio of the noisy outputs' probabilities for inputs x and x2,
    from scipy's discrete Laplace pmf (coordinates are independent, so the
    worst output maximises each coordinate's ratio over a grid wide enough to
    reach it)."""
    from scipy.stats import dlaplace

    ys = np.arange(-64, 65)[:, None]
    a = 1.0 / scale
    ratios = dlaplace.logpmf(ys - x[None, :], a) - dlaplace.logpmf(ys - x2[None, :], a)
    return float(ratios.max(axis=0).sum())


@pytest.mark.parametrize("eps", [0.1, 0.5, 2.0])
def test_local_dp_loss_between_x_and_minus_x_is_epsilon(eps):
    """At LocalDP's scale the privacy loss between an update x with ||x||_1 = D1 and
    -x, computed from scipy's discrete Laplace pmf, is exactly eps per round: any
    two inputs are covered, not only an update against zero."""
    m = dp.LocalDP(eps, 2.0, 4)  # D2 = 2, d = 4: D1 = min(sqrt(4) * 2, 2^2) = 4
    x = np.array([1, -1, 1, 1])  # ||x||_2 = 2 = D2, ||x||_1 = 4 = D1
    assert np.abs(x).sum() == m.l1_sensitivity
    assert _dlaplace_loss(x, -x, m.scale) == pytest.approx(eps, rel=1e-9)


@given(
    eps=st.floats(0.05, 4.0),
    x=st.lists(st.integers(-2, 2), min_size=6, max_size=6),
    x2=st.lists(st.integers(-2, 2), min_size=6, max_size=6),
)
def test_local_dp_any_two_inputs_are_epsilon_close(eps, x, x2):
    """For any two integer updates inside the L2 ball of radius D2 = 5 (entries in
    -2..2, d = 6) the per-round privacy loss of LocalDP's noise (scipy's pmf) is at
    most eps."""
    m = dp.LocalDP(eps, 5.0, 6)
    assert _dlaplace_loss(np.array(x), np.array(x2), m.scale) <= eps * (1 + 1e-9)


@pytest.mark.parametrize(("eps", "rounds"), [(0.5, 10), (0.3, 30), (0.1, 30)])
def test_local_dp_epsilon_is_at_least_the_tight_pld_epsilon(eps, rounds):
    """dp-accounting's PLD accountant (tight, independent of ours) for the discrete
    Laplace at LocalDP's scale with sensitivity 2 D1 (any two inputs, REPLACE_SPECIAL)
    never exceeds the epsilon LocalDP reports: the reported number is sound."""
    import dp_accounting
    from dp_accounting import dp_event
    from dp_accounting.pld import pld_privacy_accountant

    m = dp.LocalDP(eps, 2.0, 4)  # D1 = 4
    acc = pld_privacy_accountant.PLDAccountant(
        neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_SPECIAL
    )
    acc.compose(dp_event.DiscreteLaplaceDpEvent(1.0 / m.scale, 8), rounds)
    assert acc.get_epsilon(1e-5) <= m.epsilon(rounds, 1e-5)


def test_replace_one_doubles_both_sensitivities():
    """Under replace-one the RDP is the zero-out RDP at twice D1 and D2 (Skellam and
    discrete Gaussian), and so larger."""
    for kind in ("skellam", "gaussian"):
        m = dp.DistributedDP(kind, 1.5, 40.0, 30, n_min=6, colluders=1)
        got = m.round_rdp(7, replace_one=True)
        v = m.per_client_variance
        if kind == "skellam":
            want = dp.skellam_rdp(dp.DEFAULT_ORDERS, 7 * v, 2 * m.l1_sensitivity, 80.0)
        else:
            want = dp.distributed_discrete_gaussian_rdp(
                dp.DEFAULT_ORDERS, v, 7, 30, 2 * m.l1_sensitivity, 80.0
            )
        assert np.allclose(got, want, rtol=1e-12)
        assert m.epsilon(5, 1e-5, replace_one=True) > m.epsilon(5, 1e-5)

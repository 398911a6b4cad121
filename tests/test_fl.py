"""Tests for the fl package: data, models, strategies, and secure federated training."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace

import numpy as np
import pytest

from fl.aggregators import MaskingAggregator
from fl.boundary import HELD_MASKED, RoundOutcome
from fl.data import DIGITS_PATH, dirichlet_partition, load_digits, make_synthetic
from fl.federation import FLConfig, dropout_schedule, run_federated
from fl.models import MLP, SoftmaxRegression
from fl.privacy import GRAPH_FAILURE, dp_setup, graph_failure
from fl.server import Server
from fl.training import LocalConfig, Strategy
from secagg.encoding import Layout, UpdateCodec, UpdateReusedError
from secagg.exceptions import InvalidInputError
from secagg.protocol.planner import plan, session_config
from secagg.protocol.thresholds import count_of

SMALL = FLConfig(
    n_clients=6,
    rounds=3,
    dataset="synthetic",
    dropout=0.2,
    alpha=1.0,
    local=LocalConfig(epochs=1, batch_size=32, lr=0.3),
    seed=3,
)


def build_config(n: int, bits: int, length: int, k: int):
    """A session config with an explicit graph degree (dropout 0.2, no corrupt clients)."""
    return session_config(n, bits, length, dropout=0.2, corrupt=0.0, k=k)


def numeric_grad(model, params, x, y, eps=1e-6):
    """Central finite differences of the loss over every parameter."""
    out = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        it = np.nditer(p, flags=["multi_index"])
        for _ in it:
            idx = it.multi_index
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (model.loss_and_grad(plus, x, y)[0] - model.loss_and_grad(minus, x, y)[0]) / (
                2 * eps
            )
        out.append(g)
    return out


@pytest.mark.parametrize("model", [SoftmaxRegression(5, 3), MLP(5, 3, hidden=4)])
def test_gradients_match_finite_differences(model):
    """Hand-written backprop agrees with central finite differences to 1e-6 relative."""
    rng = np.random.default_rng(0)
    params = model.init(rng)
    params = [p + rng.normal(0, 0.3, p.shape) for p in params]
    x, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    _, grads = model.loss_and_grad(params, x, y)
    for g, n in zip(grads, numeric_grad(model, params, x, y), strict=True):
        assert np.allclose(g, n, rtol=1e-5, atol=1e-7)


def test_digits_loads_and_checksum_is_enforced(tmp_path):
    """The vendored digits load as 1797 x 64 in [0, 1]; a modified copy is refused."""
    d = load_digits()
    assert d.x.shape == (1797, 64) and d.x.min() >= 0 and d.x.max() <= 1
    assert set(np.unique(d.y).tolist()) == set(range(10))
    bad = tmp_path / "digits.csv.gz"
    shutil.copy(DIGITS_PATH, bad)
    with open(bad, "ab") as f:
        f.write(b"\0")
    with pytest.raises(InvalidInputError, match="SHA-256"):
        load_digits(bad)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_digits(tmp_path / "missing.gz")


def test_dirichlet_partition_is_a_seeded_partition():
    """The split is disjoint, covers every sample, respects min_size and is seed-reproducible;
    a small alpha skews labels more than a large one."""
    y = load_digits().y
    parts = dirichlet_partition(y, 10, 0.5, np.random.default_rng(1))
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))
    assert min(p.size for p in parts) >= 10
    again = dirichlet_partition(y, 10, 0.5, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))

    def skew(alpha: float) -> float:
        ps = dirichlet_partition(y, 10, alpha, np.random.default_rng(2))
        return float(np.mean([np.bincount(y[p], minlength=10).max() / p.size for p in ps]))

    assert skew(0.1) > skew(100.0)
    with pytest.raises(InvalidInputError):
        dirichlet_partition(y, 500, 0.5, np.random.default_rng(1))


def test_fednova_with_equal_steps_equals_fedavg():
    """FedNova's server step with equal local steps reduces to FedAvg's."""
    params = [np.ones((2, 2)), np.zeros(2)]
    delta = [np.full((2, 2), 0.3), np.full(2, -0.6)]
    nova = Strategy("fednova", tau_max=10)
    avg = Strategy("fedavg")
    sent = nova.client_vector(delta, 6)
    assert sent[-1][0] == pytest.approx(0.6)
    for a, b in zip(nova.server_step(params, sent), avg.server_step(params, delta), strict=True):
        assert np.allclose(a, b)


def test_secure_fedavg_matches_plain_within_quantisation():
    """On the same seed and survivor schedule, secure FedAvg's model equals plain
    FedAvg's up to the quantisation error (scale 2^16: per-round error < 1e-4)."""
    secure = run_federated(SMALL)
    plain = run_federated(SMALL, secure=False, survivor_schedule=secure.survivor_schedule)
    assert [r.survivor_ids for r in secure.records] == [r.survivor_ids for r in plain.records]
    for a, b in zip(secure.params, plain.params, strict=True):
        assert np.max(np.abs(a - b)) < 1e-3
    assert abs(secure.final_accuracy - plain.final_accuracy) <= 0.02
    assert secure.records[-1].upload_bytes > 0 and secure.records[-1].agg_time > 0


def test_dropped_client_is_excluded_and_its_key_reconstructed():
    """A client dropping before R2 is not a survivor and its pairwise key is rebuilt;
    the audit finds the masked words uniform."""
    cfg = replace(SMALL, n_clients=8, dropout=0.25, dropout_at="R2", rounds=3)
    run = run_federated(cfg, audit=True)
    for rec in run.records:
        assert rec.aborted is None
        assert rec.survivors + rec.dropped == cfg.session_size
    dropped_total = sum(r.dropped for r in run.records)
    assert dropped_total > 0
    assert sum(len(v) for v in run.audit.pairwise.values()) == dropped_total
    assert all(rnd == "R2" for v in run.audit.pairwise.values() for _, rnd in v)
    _, p = run.audit.chi_square()
    assert p > 1e-4
    _, p_plain = run.audit.chi_square(run.audit.plain_top_counts)
    assert p_plain < 1e-10
    assert run.audit.both_secrets == [] and run.audit.self_mask_outside_u3 == []


@pytest.mark.parametrize("strategy", ["fedprox", "fednova"])
def test_fedprox_and_fednova_converge(strategy):
    """FedProx and FedNova (secure) reach 80 % accuracy on separable synthetic data."""
    cfg = replace(SMALL, strategy=strategy, rounds=5, dropout=0.0)
    run = run_federated(cfg)
    assert run.final_accuracy >= 0.8
    assert run.records[-1].loss < run.records[0].loss


def test_encoded_updates_are_consumed_by_a_session():
    """After one aggregation every encoded update refuses reuse."""
    layout = Layout.of([np.zeros(4)])
    codec = UpdateCodec(layout, 1.0, 256.0, 3)
    cfg = build_config(3, codec.bits, codec.length, k=2)
    agg = MaskingAggregator(cfg)
    enc = {i: codec.encode([np.full(4, 0.25 * i)], 1.0) for i in (1, 2, 3)}
    view = agg.aggregate(enc, {})
    mean, w = codec.decode_mean(view.sum, len(view.survivors))
    assert w == 3 and np.allclose(mean[0], 0.5, atol=3 / 256)
    with pytest.raises(UpdateReusedError):
        agg.aggregate(enc, {})


def test_aggregator_checks_ids_and_widths():
    """Missing clients, a wrong ring width and an unknown dropout round are refused."""
    layout = Layout.of([np.zeros(4)])
    codec = UpdateCodec(layout, 1.0, 256.0, 3)
    agg = MaskingAggregator(build_config(3, codec.bits, codec.length, k=2))
    with pytest.raises(InvalidInputError, match="exactly the clients"):
        agg.aggregate({1: codec.encode([np.zeros(4)])}, {})
    other = UpdateCodec(layout, 1.0, 2.0**40, 3, max_weight=1)
    with pytest.raises(InvalidInputError, match="b ="):
        agg.aggregate({i: other.encode([np.zeros(4)]) for i in (1, 2, 3)}, {})
    with pytest.raises(InvalidInputError, match="dropout entry"):
        agg.aggregate({i: codec.encode([np.zeros(4)]) for i in (1, 2, 3)}, {2: "R9"})


def test_server_has_no_per_client_input():
    """The server's interface takes only a round's outcome (whose sum it decodes);
    an aborted session leaves the model unchanged."""
    public = {n for n in dir(Server) if not n.startswith("_")}
    assert public == {"params", "broadcast", "apply"}
    layout = Layout.of([np.zeros(2)])
    codec = UpdateCodec(layout, 1.0, 16.0, 3)
    srv = Server([np.ones(2)], Strategy(), codec)
    cfg = build_config(3, codec.bits, codec.length, k=2)
    aborted = RoundOutcome(
        HELD_MASKED, None, frozenset(), "too few survivors", {}, None, {}, {}, {}, cfg
    )
    assert srv.apply(aborted) is None
    assert np.array_equal(srv.params[0], np.ones(2))


def test_distributed_and_local_dp_runs_report_epsilon():
    """DP runs report epsilon; distributed DP sets n_min from the calibration (n - D)."""
    cfg = replace(SMALL, rounds=2, dropout=0.0, dp="distributed", dp_epsilon=20.0)
    run = run_federated(cfg)
    assert run.epsilon is not None and 0 < run.epsilon <= 20.0
    planned = count_of(cfg.planner_dropout, 6)
    assert run.session_config.n_min == max(run.session_config.t, 6 - planned)
    assert [r.epsilon for r in run.records] == sorted(r.epsilon for r in run.records)
    local = run_federated(replace(cfg, dp="local", dp_epsilon=1.0))
    assert local.epsilon == pytest.approx(2.0, rel=1e-9) or local.epsilon < 2.0


def test_flconfig_rejects_bad_settings():
    """Invalid federated settings raise InvalidInputError with the value named."""
    for kwargs in (
        {"n_clients": 2},
        {"dropout": 1.0},
        {"dropout_at": "R7"},
        {"strategy": "fedsgd"},
        {"dp": "distributed"},
        {"dp": "local", "dp_epsilon": 1.0, "strategy": "fednova"},
        {"sample_fraction": 0.0},
    ):
        with pytest.raises(InvalidInputError):
            FLConfig(**kwargs)


def test_dropout_schedule_uses_the_protocol_rounds():
    """The dropout schedule draws from the protocol's rounds (no R3 in semi_honest)."""
    sched = dropout_schedule(
        list(range(1, 200)), 0.5, "random", "semi_honest", np.random.default_rng(0)
    )
    assert set(sched.values()) == {"R0", "R1", "R2", "R4"}
    active = dropout_schedule(
        list(range(1, 200)), 0.5, "random", "active", np.random.default_rng(0)
    )
    assert set(active.values()) == {"R0", "R1", "R2", "R3", "R4"}


def test_synthetic_data_is_seeded():
    """The synthetic data set is reproducible from its seed."""
    a, b = make_synthetic(seed=5), make_synthetic(seed=5)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_active_mode_with_client_sampling():
    """Active mode (signatures, complete graph) with half the clients sampled per round:
    each session's registry is built from the sampled clients' long-term keys."""
    cfg = replace(SMALL, n_clients=8, sample_fraction=0.5, mode="active", rounds=2, dropout=0.0)
    run = run_federated(cfg)
    assert run.session_config.k == 3 and run.session_config.mode.value == "active"
    assert all(r.aborted is None and r.survivors == 4 for r in run.records)
    plain = run_federated(cfg, secure=False, survivor_schedule=run.survivor_schedule)
    for a, b in zip(run.params, plain.params, strict=True):
        assert np.max(np.abs(a - b)) < 1e-3


def test_distributed_discrete_gaussian_run():
    """Distributed DP with the exact discrete Gaussian sampler trains and reports epsilon."""
    cfg = replace(
        SMALL,
        rounds=2,
        dropout=0.0,
        dp="distributed",
        dp_kind="gaussian",
        dp_noise_multiplier=1.0,
    )
    run = run_federated(cfg)
    assert "gaussian" in (run.dp_description or "")
    assert run.epsilon is not None and run.epsilon > 0


def test_refused_session_consumes_nothing():
    """A session refused because one update was already used leaves the others unused."""
    layout = Layout.of([np.zeros(4)])
    codec = UpdateCodec(layout, 1.0, 256.0, 3)
    agg = MaskingAggregator(build_config(3, codec.bits, codec.length, k=2))
    enc = {i: codec.encode([np.zeros(4)]) for i in (1, 2, 3)}
    enc[3].take()
    with pytest.raises(UpdateReusedError):
        agg.aggregate(enc, {})
    assert not enc[1].used and not enc[2].used


def test_session_larger_than_the_codec_is_refused():
    """Updates encoded for sums of 3 clients are refused by a 4-client session."""
    layout = Layout.of([np.zeros(4)])
    small = UpdateCodec(layout, 1.0, 256.0, 3)
    cfg = build_config(4, small.bits, small.length, k=3)
    agg = MaskingAggregator(cfg)
    with pytest.raises(InvalidInputError, match="at most 3 clients"):
        agg.aggregate({i: small.encode([np.zeros(4)]) for i in (1, 2, 3, 4)}, {})


def test_server_decodes_over_the_survivors_within_n_max():
    """apply decodes the sum as one over |U3| clients: an outcome whose survivors
    outnumber the codec's n_max, or whose config does not fit the codec, is refused
    and leaves the model unchanged."""
    layout = Layout.of([np.zeros(2)])
    codec = UpdateCodec(layout, 1.0, 16.0, 3, max_weight=1)
    agg = MaskingAggregator(build_config(3, codec.bits, codec.length, k=2))
    view = agg.aggregate({i: codec.encode([np.full(2, 0.5)]) for i in (1, 2, 3)}, {})
    srv = Server([np.zeros(2)], Strategy(), codec)
    too_many = replace(view, survivors=frozenset({1, 2, 3, 4}))
    with pytest.raises(InvalidInputError, match="over 4 clients.*n_max = 3"):
        srv.apply(too_many)
    bigger = build_config(4, codec.bits, codec.length, k=3)
    with pytest.raises(InvalidInputError, match="at most 3 clients but the config has n = 4"):
        srv.apply(replace(view, config=bigger))
    assert np.array_equal(srv.params[0], np.zeros(2))
    assert srv.apply(view) == 3.0


def test_demo_run_warns_about_clipping_once():
    """A run whose updates are clipped heavily issues one ClippingWarning in all
    (not one per client per round) and still reports the fraction per round."""
    import warnings

    from secagg.exceptions import ClippingWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_federated(replace(SMALL, rounds=2, dropout=0.0, clip=1e-4))
    clipping = [w for w in caught if issubclass(w.category, ClippingWarning)]
    assert len(clipping) == 1 and "12 encoded updates over 2 rounds" in str(clipping[0].message)
    assert all(r.clipped_fraction > 0.5 for r in run.records)


def test_distributed_noise_survives_the_secure_sum():
    """Five clients encode zero updates with their Skellam noise shares; the decoded
    secure sum has variance 5 x the per-client variance (2000 coordinates: relative
    standard error sqrt(2/2000) = 3.2 %, tolerance 16 % = 5 s.e.), so the shares add
    up in the ring without wrapping or loss."""
    from secagg.dp import DistributedDP

    d = 2000
    layout = Layout.of([np.zeros(d)])
    base = UpdateCodec(layout, 1.0, 64.0, 5, l2_clip=1.0)
    mech = DistributedDP("skellam", 2.0, float(base.rounded_l2_bound), d, n_min=5)
    codec = replace(base, noise_bound=mech.noise_bound(5))
    agg = MaskingAggregator(build_config(5, codec.bits, codec.length, k=4))
    enc = {u: codec.encode([np.zeros(d)], 1.0, noise=mech.noise_fn()) for u in range(1, 6)}
    total, weight = codec.decode_sum(agg.aggregate(enc, {}).sum, 5)
    ints = np.rint(total * codec.scale)
    assert weight == 5
    assert abs(ints.var() / (5 * mech.per_client_variance) - 1) < 0.16


def _rounded_l2_bound(clip_steps: float, d: int) -> float:
    """Delta_2 of a conditionally rounded update, from the formula in docs/dp.md
    (beta = e^-1/2, so sqrt(2 ln(1/beta)) = 1)."""
    return min(
        math.sqrt(clip_steps**2 + d / 4 + (clip_steps + math.sqrt(d) / 2)),
        clip_steps + math.sqrt(d),
    )


def test_distributed_dp_run_counts_the_cohorts_colluders():
    """139 clients, corrupt 0.2: the planner's per-neighbourhood c is below C = 27,
    and the run's epsilon is the Skellam bound recomputed with the noise calibrated
    to n_min - C honest shares and each round charged with |U3| - C (PROTOCOL.md §11)."""
    from secagg.dp import DEFAULT_ORDERS, epsilon_from_rdp, skellam_rdp

    cfg = replace(
        SMALL,
        n_clients=139,
        rounds=1,
        dropout=0.0,
        corrupt=0.2,
        dp="distributed",
        dp_noise_multiplier=1.0,
        personalise_steps=0,
    )
    run = run_federated(cfg)
    big_c, sc = 27, run.session_config
    assert sc.c < big_c and sc.k < 138  # the case the rule is about: sparse, c < C
    n_min = max(sc.t, 139 - math.floor(cfg.planner_dropout * 139))
    d = 20 * 5 + 5  # synthetic data: 20 features, 5 classes
    l2 = _rounded_l2_bound(cfg.dp_clip * 2.0**12 / cfg.dp_clip, d)
    l1 = min(math.sqrt(d) * l2, l2 * l2)
    per_client = (1.0 * l2) ** 2 / (n_min - big_c)
    survivors = run.records[0].survivors
    rdp = skellam_rdp(DEFAULT_ORDERS, (survivors - big_c) * per_client, l1, l2)
    assert run.epsilon == pytest.approx(epsilon_from_rdp(DEFAULT_ORDERS, rdp, 1e-5), rel=1e-6)
    assert run.dp.colluders == big_c and run.dp.n_min == sc.n_min == n_min
    assert f"n_min - C = {n_min} - {big_c}" in run.dp_description


def test_dp_setup_at_a_thousand_clients():
    """n = 1000, corrupt 0.05 (the sparse case of PROTOCOL.md §11): C = 50 exceeds the
    per-neighbourhood c, and each client's variance is (z D2)^2 / (n_min - 50)."""
    cfg = FLConfig(
        n_clients=1000, rounds=30, corrupt=0.05, dp="distributed", dp_noise_multiplier=1.0
    )
    probe = session_config(1000, 64, 101, dropout=cfg.planner_dropout, corrupt=0.05)
    setup = dp_setup(cfg, probe, 300.0, 100)
    assert probe.c < setup.colluders == 50
    assert setup.n_min == max(probe.t, 1000 - count_of(cfg.planner_dropout, 1000)) == setup.floor
    assert setup.mechanism.honest_min == setup.n_min - 50
    assert setup.mechanism.per_client_variance == pytest.approx(300.0**2 / (setup.n_min - 50))
    assert setup.delta_total == 1e-5 + 30 * 2.0**-40


def test_delta_total_adds_the_graph_failure_on_sparse_graphs_only():
    """epsilon is reported at the delta asked for; the run's delta_total adds
    rounds x 2^-40 on a planner-chosen sparse graph, nothing on the complete graph
    (active mode) and nothing for local DP (which does not rest on the graph)."""
    base = replace(
        SMALL, n_clients=20, rounds=2, dropout=0.0, dp="distributed", dp_noise_multiplier=1.0
    )
    sparse = run_federated(base)
    assert sparse.session_config.k < 19
    assert sparse.dp.delta == 1e-5 and sparse.dp.graph_failure == GRAPH_FAILURE == 2.0**-40
    assert sparse.dp.delta_total == 1e-5 + 2 * 2.0**-40 > 1e-5
    assert f"{sparse.dp.delta_total:.10g}" in sparse.dp_description
    complete = run_federated(replace(base, n_clients=8, mode="active"))
    assert complete.session_config.k == 7
    assert complete.dp.graph_failure == 0 and complete.dp.delta_total == 1e-5
    local = run_federated(replace(base, dp="local", dp_noise_multiplier=None, dp_epsilon=1.0))
    assert local.dp.delta_total == 1e-5


def test_graph_failure_of_a_hand_picked_sparse_graph():
    """For a k the planner did not choose the bound is recomputed (scipy's
    hypergeometric tail for corrupt holders plus the ring-cut bound of PROTOCOL.md
    §6) and exceeds 2^-40; a planner-chosen k gives 2^-40, the complete graph 0."""
    from scipy.stats import hypergeom

    n, k, c, big_c, n_min = 20, 4, 1, 2, 18
    r = big_c + n - n_min
    want = n * hypergeom.sf(c, n - 1, big_c, k) + math.comb(n, 2) * math.comb(
        n - k, r - k
    ) / math.comb(n, r)
    assert graph_failure(n, k, c, big_c, n_min) == pytest.approx(want, rel=1e-9)
    assert 2.0**-40 < want < 1
    p = plan(1000, 0.2, 0.05)
    assert not p.complete
    assert graph_failure(1000, p.k, p.c, p.corrupt_clients, 800) == 2.0**-40
    assert graph_failure(20, 19, 3, 3, 16) == 0.0


def test_dp_colluders_below_the_cohorts_corrupt_count_is_refused():
    """dp_colluders may only raise C = floor(corrupt x session size), never lower it."""
    with pytest.raises(InvalidInputError, match="at least the session's corrupt clients C"):
        replace(SMALL, n_clients=20, corrupt=0.2, dp="distributed", dp_epsilon=5.0, dp_colluders=3)

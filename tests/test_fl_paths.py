"""The Paillier and multi-server paths behind fl's aggregation boundary.

Paillier tests use the cached insecure 1024-bit keys (tests/data) with the
library's insecure-testing flag; the demo's 2048-bit keys are for the CLI.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("phe")
pytest.importorskip("gmpy2")

from paillier_support import committee, private_key  # noqa: E402

import fl.federation  # noqa: E402
from fl.aggregators import PlainAggregator, masking_round  # noqa: E402
from fl.audit import Audit  # noqa: E402
from fl.boundary import survivors_of  # noqa: E402
from fl.config import FLConfig  # noqa: E402
from fl.multiserver import HELD_SHARES, MultiServerAggregator, multiserver_round  # noqa: E402
from fl.paillier import HELD_CIPHERTEXTS, HELD_CIPHERTEXTS_COMMITTEE  # noqa: E402
from fl.paillier_runs import PaillierRounds, ThresholdPaillierRounds  # noqa: E402
from fl.paths import AGGREGATORS, PathOptions, parse_aggregators  # noqa: E402
from fl.plan import build_plan  # noqa: E402
from fl.training import LocalConfig  # noqa: E402
from secagg.encoding import Layout, UpdateCodec  # noqa: E402
from secagg.exceptions import InvalidInputError  # noqa: E402
from secagg.protocol.planner import session_config  # noqa: E402
from secagg.protocol.vocabulary import ROUNDS  # noqa: E402

N, DIM = 5, 6


def _codec_config(n_min: int = 3):
    codec = UpdateCodec(Layout.of([np.zeros(DIM)]), 1.0, 256.0, N)
    cfg = session_config(N, codec.bits, codec.length, dropout=0.4, corrupt=0.0, k=N - 1)
    return codec, replace(cfg, n_min=n_min)


def _encoded(codec: UpdateCodec, seed: int):
    """The same words for the same seed (injected rounding randomness: tests only)."""
    gen = np.random.default_rng(seed)
    return {
        u: codec.encode([gen.uniform(-1, 1, DIM)], float(u), rng=np.random.default_rng([seed, u]))
        for u in range(1, N + 1)
    }


def _reference(codec: UpdateCodec, seed: int, survivors, bits: int) -> list[int]:
    words = {u: enc.take() for u, enc in _encoded(codec, seed).items()}
    total = np.sum([words[u].astype(object) for u in survivors], axis=0)
    return (total % (1 << bits)).tolist()


def _session():
    return {sid: sid for sid in range(1, N + 1)}


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**32 - 1),
    servers=st.integers(2, 4),
    dropouts=st.dictionaries(st.integers(1, N), st.sampled_from(ROUNDS), max_size=N),
)
def test_multiserver_sums_exact_under_dropouts(seed, servers, dropouts):
    """Multi-server sharing releases exactly the survivors' sum mod 2^b (numpy reference)
    for any dropout schedule and S, every server over that set, or nothing when fewer
    than n_min clients upload."""
    codec, cfg = _codec_config()
    survivors = survivors_of(range(1, N + 1), dropouts)
    out = MultiServerAggregator(cfg, servers, record=True).aggregate(
        _encoded(codec, seed), dropouts
    )
    assert out.held == HELD_SHARES and out.survivors == survivors
    if len(survivors) < cfg.n_min:
        assert out.sum is None and out.aborted and out.releases == {}
        return
    assert out.aborted is None
    assert out.sum.tolist() == _reference(codec, seed, survivors, cfg.b)
    assert out.releases == {f"server {j}": survivors for j in range(servers)}
    assert set(out.received) == set(survivors)


@pytest.fixture(scope="module")
def paillier_paths():
    """Both Paillier factories on the cached 1024-bit keys (one set-up per module)."""
    return {
        "paillier": PaillierRounds(private_key=private_key(1024), insecure_testing=True),
        "threshold-paillier": ThresholdPaillierRounds(
            committee=committee(1024, 5, 3), insecure_testing=True
        ),
    }


@pytest.mark.parametrize("name", ["paillier", "threshold-paillier"])
@pytest.mark.parametrize(
    "dropouts",
    [{}, {1: "R4", 2: "R3", 5: "R0"}, {2: "R1", 3: "R2"}, {1: "R0", 2: "R1", 3: "R2"}],
    ids=["none", "late-and-early", "two-before-upload", "below-n_min"],
)
def test_paillier_paths_sum_exactly_and_read_the_masking_schedule(paillier_paths, name, dropouts):
    """The key holder and the committee decrypt exactly the sum of the clients that did
    not stop before R2 (a client stopping at R3 or R4 is in it), and nothing when fewer
    than n_min uploaded; the outcome names who decrypted, over which clients."""
    codec, cfg = _codec_config()
    plan = build_plan(FLConfig(n_clients=N, dataset="synthetic"), [np.zeros(DIM)], 10)
    plan = replace(plan, codec=codec, config=cfg)
    agg = paillier_paths[name](plan, _session())
    survivors = survivors_of(range(1, N + 1), dropouts)
    out = agg.aggregate(_encoded(codec, 11), dropouts)
    assert out.held == (HELD_CIPHERTEXTS if name == "paillier" else HELD_CIPHERTEXTS_COMMITTEE)
    assert out.survivors == survivors and out.received is None
    if len(survivors) < cfg.n_min:
        assert out.sum is None and "fewer than n_min" in out.aborted and out.releases == {}
        return
    assert out.sum.tolist() == _reference(codec, 11, survivors, cfg.b)
    parties = ["key holder"] if name == "paillier" else [f"committee member {i}" for i in (1, 2, 3)]
    assert out.releases == {p: survivors for p in parties}
    uploaded = {u for u, per in out.bytes_sent.items() if per}
    assert uploaded == survivors


def test_paillier_keys_below_2048_bits_need_the_testing_flag():
    """A key below 2048 bits is refused by both factories and by the demo's options
    unless insecure testing is asked for explicitly."""
    with pytest.raises(InvalidInputError, match="1024-bit Paillier key is insecure"):
        PaillierRounds(private_key=private_key(1024))
    with pytest.raises(InvalidInputError, match="insecure"):
        ThresholdPaillierRounds(committee=committee(1024, 5, 3))
    with pytest.raises(InvalidInputError, match="--insecure-test-keys"):
        PathOptions(paillier_bits=1024)
    assert PathOptions(paillier_bits=1024, insecure_testing=True).paillier_bits == 1024
    with pytest.raises(InvalidInputError, match="w / 2 < t"):
        PathOptions(committee_size=6, committee_threshold=3)
    with pytest.raises(InvalidInputError, match="2..255 servers"):
        PathOptions(servers=1)


def test_aggregator_names_parse_strictly():
    """'all' names every path in order; a list keeps its order; unknown or repeated
    names are refused with the valid choices."""
    assert parse_aggregators("all") == AGGREGATORS
    assert parse_aggregators("multiserver, paillier") == ("multiserver", "paillier")
    with pytest.raises(InvalidInputError, match="unknown aggregator 'secure'"):
        parse_aggregators("masking,secure")
    with pytest.raises(InvalidInputError, match="twice"):
        parse_aggregators("paillier,paillier")


def test_fedavg_through_each_aggregator_matches_masking(paillier_paths):
    """One FedAvg round on the digits data under dropouts (one client stops before R0,
    one before R4): every path has masking's survivors, passes its audit, and its model
    differs from masking's by less than the two runs' quantisation error,
    2 * |U| / (scale * sum of weights) per coordinate."""
    cfg = FLConfig(
        n_clients=N,
        rounds=1,
        dropout=0.3,
        local=LocalConfig(epochs=1, batch_size=32, lr=0.3),
        personalise_steps=0,
        seed=1,
    )
    factories = {
        "masking": lambda plan, s: masking_round(plan, s, record=True),
        "multiserver": lambda plan, s: multiserver_round(plan, s, record=True),
        **paillier_paths,
    }
    runs = {
        name: fl.federation.run_federated(cfg, audit=True, aggregator=f)
        for name, f in factories.items()
    }
    base = runs["masking"]
    survivors = base.records[0].survivor_ids
    assert survivors == frozenset({1, 2, 3, 4})  # client 5 stopped before R0, client 1 at R4
    _, _, _, clients = fl.federation._setup(cfg)
    weight = sum(len(c.train) for c in clients if c.cid in survivors)
    bound = 2 * len(survivors) / (base.plan.codec.scale * weight)
    for name, run in runs.items():
        assert run.records[0].survivor_ids == survivors, name
        assert run.audit.private, (name, run.audit.problems())
        diff = max(
            float(np.max(np.abs(a - b))) for a, b in zip(run.params, base.params, strict=True)
        )
        assert diff < bound, (name, diff, bound)


def test_audit_flags_a_release_over_other_clients_or_too_few():
    """A decrypting party or server that released an aggregate over a set other than
    the survivors, or over fewer than n_min clients, is a finding."""
    codec, cfg = _codec_config(n_min=4)
    out = PlainAggregator(cfg).aggregate(_encoded(codec, 2), {5: "R1"})
    words = {u: e.take() for u, e in _encoded(codec, 2).items()}
    good = Audit()
    good.add(replace(out, releases={"server 0": out.survivors}), words)
    assert good.releases == {"server 0": 1} and not any("released" in f for f in good.findings)
    bad = Audit()
    bad.add(replace(out, releases={"key holder": frozenset({1, 2, 3})}), words)
    assert any("not over the round's survivors" in f for f in bad.findings)
    assert any("fewer than n_min = 4" in f for f in bad.findings)


def test_paths_refuse_a_session_that_cannot_hold_an_honest_pair_before_taking_updates(
    paillier_paths,
):
    """With C colluders, Paillier needs n_min >= C + 2 and multi-server C < n_min: a plan
    that breaks the rule is refused when the round's aggregator is built, and a refused
    aggregate call (wrong ids) leaves every update unused."""
    codec, cfg = _codec_config(n_min=3)
    plan = build_plan(FLConfig(n_clients=N, dataset="synthetic"), [np.zeros(DIM)], 10)
    plan = replace(plan, codec=codec, config=cfg, colluders=2)
    for name in ("paillier", "threshold-paillier"):
        with pytest.raises(InvalidInputError, match="n_min must be at least max_colluders"):
            paillier_paths[name](plan, _session())
    assert multiserver_round(replace(plan, colluders=2), _session()).colluders == 2
    with pytest.raises(InvalidInputError, match="0..n_min - 1"):
        multiserver_round(replace(plan, colluders=3), _session())
    with pytest.raises(InvalidInputError, match="2..255 servers"):
        multiserver_round(replace(plan, colluders=0), _session(), servers=1)
    ok = replace(plan, colluders=0)
    for agg in (paillier_paths["paillier"](ok, _session()), multiserver_round(ok, _session())):
        enc = _encoded(codec, 4)
        del enc[5]
        with pytest.raises(InvalidInputError, match="exactly the clients 1..5"):
            agg.aggregate(enc, {})
        assert not any(e.used for e in enc.values())

"""Tests of fl's aggregation boundary: the session plan, the aggregators and the audit."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fl.federation
from fl.aggregators import MaskingAggregator, PlainAggregator, masking_round, plain_round
from fl.audit import Audit
from fl.boundary import HELD_MASKED, HELD_PLAIN, survivors_of
from fl.config import FLConfig
from fl.federation import replay_schedule, run_federated
from fl.plan import SessionPlan, build_plan
from fl.training import LocalConfig
from secagg import crypto
from secagg.encoding import Layout, UpdateCodec, UpdateReusedError
from secagg.protocol.planner import session_config
from secagg.protocol.registry import registry_digest
from secagg.protocol.vocabulary import ROUNDS

SMALL = FLConfig(
    n_clients=6,
    rounds=2,
    dataset="synthetic",
    dropout=0.2,
    alpha=1.0,
    local=LocalConfig(epochs=1, batch_size=32, lr=0.3),
    personalise_steps=0,
    seed=3,
)
N, DIM = 5, 6


def _codec_config():
    codec = UpdateCodec(Layout.of([np.zeros(DIM)]), 1.0, 256.0, N)
    return codec, session_config(N, codec.bits, codec.length, dropout=0.4, corrupt=0.0, k=N - 1)


def _encoded(codec: UpdateCodec, seed: int):
    """The same words for the same seed (injected rounding randomness: tests only)."""
    gen = np.random.default_rng(seed)
    return {
        u: codec.encode([gen.uniform(-1, 1, DIM)], float(u), rng=np.random.default_rng([seed, u]))
        for u in range(1, N + 1)
    }


def _words(codec: UpdateCodec, seed: int):
    return {u: enc.take() for u, enc in _encoded(codec, seed).items()}


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**32 - 1),
    dropouts=st.dictionaries(st.integers(1, N), st.sampled_from(ROUNDS), max_size=N),
)
def test_masking_and_plain_release_the_same_sum(seed, dropouts):
    """On the same words and dropouts, the plain baseline releases the survivors' sum
    mod 2^b (exact reference) and masking the same sum and U3, unless fewer than n_min
    clients reach R2 or fewer than t are left to answer R4."""
    codec, cfg = _codec_config()
    words = _words(codec, seed)
    plain = PlainAggregator(cfg).aggregate(_encoded(codec, seed), dropouts)
    survivors = survivors_of(range(1, N + 1), dropouts)
    assert plain.survivors == survivors and plain.held == HELD_PLAIN
    if survivors:
        ref = np.sum([words[u].astype(object) for u in survivors], axis=0) % (1 << cfg.b)
        assert plain.sum.tolist() == ref.tolist()
    else:
        assert plain.sum is None and plain.aborted
    masked = MaskingAggregator(cfg).aggregate(_encoded(codec, seed), dropouts)
    assert masked.held == HELD_MASKED
    if masked.aborted is None:
        assert masked.survivors == survivors
        assert masked.sum.tolist() == plain.sum.tolist()
    else:
        assert len(survivors) < cfg.n_min or N - len(dropouts) < cfg.t


def test_outcomes_hold_what_their_aggregator_declares():
    """A recording plain aggregator's server received the very words; a masking one's
    received vectors that differ from every client's words."""
    codec, cfg = _codec_config()
    words = _words(codec, 7)
    plain = PlainAggregator(cfg, record=True).aggregate(_encoded(codec, 7), {2: "R1"})
    assert plain.held.updates_in_clear and not plain.held.uniform_words
    assert set(plain.received) == {1, 3, 4, 5}
    assert all(np.array_equal(plain.received[u], words[u]) for u in plain.received)
    masked = MaskingAggregator(cfg, record=True).aggregate(_encoded(codec, 7), {2: "R1"})
    assert masked.held.uniform_words and not masked.held.updates_in_clear
    assert set(masked.received) == {1, 3, 4, 5}
    assert not any(np.array_equal(masked.received[u], words[u]) for u in masked.received)
    assert MaskingAggregator(cfg).aggregate(_encoded(codec, 7), {}).received is None


def test_plain_round_without_uploads_releases_nothing():
    """When every client stops before the upload round the plain baseline aborts."""
    codec, cfg = _codec_config()
    out = PlainAggregator(cfg).aggregate(_encoded(codec, 1), {u: "R2" for u in range(1, N + 1)})
    assert out.sum is None and out.survivors == frozenset() and out.aborted


def test_audit_calls_a_masked_run_private():
    """Secure aggregation under audit: every round held masked vectors, every check passed."""
    run = run_federated(SMALL, audit=True)
    assert run.secure and run.audit is not None
    assert run.audit.held == [HELD_MASKED] * SMALL.rounds
    assert run.audit.problems() == [] and run.audit.private
    assert run.audit.vectors == sum(r.survivors for r in run.records)


def test_audit_refuses_to_call_a_plain_run_private():
    """The plain baseline under audit: the server held updates in the clear, so the
    run is not private, and no uniformity is claimed or measured."""
    run = run_federated(SMALL, secure=False, audit=True)
    assert not run.secure and run.audit is not None
    assert not run.audit.private
    assert all("in the clear" in f for f in run.audit.findings)
    assert len(run.audit.findings) == SMALL.rounds and run.audit.vectors == 0


@dataclasses.dataclass(frozen=True)
class _Mislabelled:
    """Plain aggregation that declares (and reports) masked vectors."""

    inner: PlainAggregator

    @property
    def held(self):
        return HELD_MASKED

    def aggregate(self, encoded, dropouts):
        return replace(self.inner.aggregate(encoded, dropouts), held=HELD_MASKED)


def test_audit_catches_plain_updates_declared_masked():
    """An aggregator that declares masked vectors but hands the server the updates
    themselves fails the audit: each vector is its update, and the words are not uniform."""

    def factory(plan: SessionPlan, session):
        return _Mislabelled(PlainAggregator(plan.config, record=True))

    run = run_federated(SMALL, audit=True, aggregator=factory)
    problems = run.audit.problems()
    assert not run.audit.private
    assert any("is its update" in p for p in problems)
    assert any("fail the uniformity test" in p for p in problems)


def test_audit_catches_a_wrong_sum_and_a_changed_declaration():
    """A released sum that is not the survivors' sum, and an outcome whose declaration
    differs from its aggregator's, are both findings."""

    @dataclasses.dataclass(frozen=True)
    class Off:
        inner: MaskingAggregator

        @property
        def held(self):
            return HELD_PLAIN

        def aggregate(self, encoded, dropouts):
            out = self.inner.aggregate(encoded, dropouts)
            return replace(out, sum=None if out.sum is None else out.sum ^ out.sum.dtype.type(1))

    run = run_federated(
        replace(SMALL, dropout=0.0),
        audit=True,
        aggregator=lambda plan, s: Off(masking_round(plan, s, record=True)),
    )
    findings = run.audit.findings
    assert any("is not the sum" in f for f in findings)
    assert any("declares" in f and "but returned" in f for f in findings)


def test_audit_needs_the_vectors_declared_uniform():
    """Masking that keeps no masked vectors cannot be audited as private."""
    run = run_federated(SMALL, audit=True, aggregator=masking_round)
    assert not run.audit.private and any("none were kept" in f for f in run.audit.findings)


def test_audit_tap_refuses_a_reused_update_without_consuming_the_others():
    """The audit's tap refuses a round with a used update before taking any word."""
    codec, cfg = _codec_config()
    enc = _encoded(codec, 3)
    enc[4].take()
    with pytest.raises(UpdateReusedError, match=r"clients \[4\]"):
        Audit().tap(MaskingAggregator(cfg)).aggregate(enc, {})
    assert [u for u, e in enc.items() if e.used] == [4]


def test_session_plan_is_built_once_per_run(monkeypatch):
    """One run builds one frozen plan, whatever the number of rounds, and every
    round's outcome is decoded with its codec."""
    built: list[SessionPlan] = []

    def counting(*args, **kwargs):
        built.append(build_plan(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(fl.federation, "build_plan", counting)
    run = run_federated(replace(SMALL, rounds=3))
    assert len(built) == 1 and run.plan is built[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.plan.codec = None  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [{}, {"k": 4}, {"k": 4, "t": 3}, {"dp": "distributed", "dp_noise_multiplier": 1.0}],
)
def test_plan_config_is_the_planners_session_config(changes):
    """The plan's Config is secagg's session_config for the run's rates (n_min from the
    DP set-up under DP): fl builds no config of its own."""
    cfg = replace(SMALL, n_clients=10, **changes)
    template = [np.zeros((3, 2)), np.zeros(2)]
    plan = build_plan(cfg, template, 40)
    want = session_config(
        10,
        plan.codec.bits,
        plan.codec.length,
        dropout=cfg.planner_dropout,
        corrupt=cfg.corrupt,
        mode=cfg.mode,
        k=cfg.k,
        t=cfg.t,
        n_min=None if plan.dp is None else plan.dp.n_min,
    )
    assert plan.config == want
    assert plan.keys is None and plan.session_config({1: 4, 2: 9})[0] is plan.config


def test_active_sessions_carry_their_own_registry():
    """In active mode each session's config digest is the registry digest of its
    clients' long-term verification keys, listed by session id (PROTOCOL.md §5)."""
    cfg = replace(SMALL, n_clients=8, sample_fraction=0.5, mode="active", dropout=0.0)
    plan = build_plan(cfg, [np.zeros(3)], 10)
    assert plan.keys is not None and sorted(plan.keys.signing_keys) == list(range(1, 9))
    session = {1: 2, 2: 5, 3: 7, 4: 8}
    config, registry = plan.session_config(session)
    vks = {sid: crypto.ed25519_public(plan.keys.signing_keys[cid]) for sid, cid in session.items()}
    assert config.registry_digest == registry_digest(vks, 4) == registry.digest
    first = {sid: crypto.ed25519_public(plan.keys.signing_keys[sid]) for sid in range(1, 5)}
    assert plan.config.registry_digest == registry_digest(first, 4) != config.registry_digest
    agg = masking_round(plan, session)
    assert agg.config == config and agg.signing_keys == registry.signing_keys


@given(st.sets(st.integers(1, 8)))
def test_replayed_schedule_reproduces_the_survivors(survivors):
    """Replaying a survivor set as a dropout schedule yields exactly that set."""
    ids = list(range(1, 9))
    assert survivors_of(ids, replay_schedule(ids, frozenset(survivors))) == survivors
    assert survivors_of(ids, replay_schedule(ids, None)) == frozenset()


def test_plain_round_factory_ignores_the_session():
    """The plain baseline needs no keys: its factory gives the plan's config."""
    plan = build_plan(SMALL, [np.zeros(3)], 10)
    assert plain_round(plan, {1: 6}).config is plan.config


def test_audit_flags_secrets_rebuilt_against_the_rules():
    """A client with both secrets rebuilt, or a self-mask seed rebuilt outside U3, is a
    finding (the server could then unmask that client)."""
    codec, cfg = _codec_config()
    words = _words(codec, 5)
    outcome = MaskingAggregator(cfg, record=True).aggregate(_encoded(codec, 5), {5: "R2"})
    assert outcome.survivors == frozenset({1, 2, 3, 4})
    clean = Audit()
    clean.add(outcome, words)
    assert clean.findings == [] and clean.pairwise == {0: [(5, "R2")]}
    bad = Audit()
    bad.add(replace(outcome, reconstructed={"self_mask": (1, 2, 5), "pairwise": (2, 5)}), words)
    assert bad.both_secrets == [(0, 2), (0, 5)] and bad.self_mask_outside_u3 == [(0, 5)]
    assert len(bad.findings) == 2 and not bad.private

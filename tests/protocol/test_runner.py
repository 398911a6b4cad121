"""The in-process runner: exact sums, dropouts at every round, aborts, transcripts."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers import det_rng
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg import crypto
from secagg.exceptions import InvalidInputError
from secagg.protocol.config import Config
from secagg.protocol.graph import Graph
from secagg.protocol.planner import plan
from secagg.protocol.registry import registry_digest
from secagg.protocol.runner import ROUNDS, RoundResult, TranscriptEntry, run_round
from secagg.protocol.vocabulary import Mode


def inputs_for(config: Config, seed: int = 0) -> dict[int, np.ndarray]:
    gen = np.random.default_rng(seed)
    hi = 1 << config.b
    return {
        u: gen.integers(0, hi, config.m, dtype=np.uint64, endpoint=False).astype(config.dtype)
        for u in range(1, config.n + 1)
    }


def expected_sum(config: Config, inputs, survivors) -> np.ndarray:
    total = [0] * config.m
    for u in survivors:
        for i, w in enumerate(inputs[u].tolist()):
            total[i] += int(w)
    return np.array([x % (1 << config.b) for x in total], dtype=config.dtype)


def assert_exact(config: Config, inputs, result: RoundResult) -> None:
    assert result.aborted is None, result.aborted
    assert result.sum is not None and result.sum.dtype == config.dtype
    np.testing.assert_array_equal(result.sum, expected_sum(config, inputs, result.survivors))


@pytest.mark.parametrize("b", [1, 7, 32, 33, 64])
@pytest.mark.parametrize("graph", ["complete", "harary"])
def test_exact_sum_without_dropouts(b, graph):
    """With no dropout the output is exactly Σ x_u mod 2^b over all n clients."""
    config = (
        Config(n=5, t=3, n_min=3, k=4, b=b, m=33)
        if graph == "complete"
        else Config(n=9, t=3, n_min=3, k=4, b=b, m=33)
    )
    inputs = inputs_for(config, b)
    result = run_round(config, inputs)
    assert_exact(config, inputs, result)
    assert result.survivors == frozenset(range(1, config.n + 1))
    assert result.dropped == {}
    assert result.reconstructed == {"self_mask": tuple(range(1, config.n + 1)), "pairwise": ()}


def test_extreme_words_wrap_mod_2b():
    """All-ones inputs at b = 64 wrap exactly (no overflow, no float)."""
    config = Config(n=4, t=2, n_min=2, k=3, b=64, m=5)
    inputs = {u: np.full(5, 2**64 - 1, dtype=np.uint64) for u in range(1, 5)}
    result = run_round(config, inputs)
    assert_exact(config, inputs, result)
    assert int(result.sum[0]) == (4 * (2**64 - 1)) % 2**64


@pytest.mark.parametrize("b", [1, 16, 64])
@pytest.mark.parametrize("rnd", ROUNDS)
def test_single_dropout_at_each_round_keeps_the_sum_exact(rnd, b):
    """A client stopping before any round leaves an exact sum over exactly U3."""
    config = Config(n=9, t=3, n_min=3, k=4, b=b, m=20)
    inputs = inputs_for(config, 1)
    result = run_round(config, inputs, dropouts={4: rnd})
    assert_exact(config, inputs, result)
    assert result.dropped == {4: rnd if rnd != "R3" else "R4"}
    if rnd in ("R0", "R1", "R2"):
        assert 4 not in result.survivors
        assert len(result.survivors) == 8
    else:  # its masked input was folded: it is in U3, its b is rebuilt from others
        assert 4 in result.survivors
        assert 4 in result.reconstructed["self_mask"]
    if rnd == "R2":
        assert result.reconstructed["pairwise"] == (4,)
    else:
        assert result.reconstructed["pairwise"] == ()


def test_many_dropouts_across_rounds_on_a_sparse_graph():
    """Clients dropping at R0, R2 and R4 on a Harary graph give the exact sum.

    With k = 6 and t = 4, losing 3 clients leaves every H(u) at least 4 live
    holders, so the round must succeed whatever the graph.
    """
    config = Config(n=16, t=4, n_min=4, k=6, b=32, m=50)
    inputs = inputs_for(config, 2)
    drops = {2: "R0", 9: "R2", 14: "R4"}
    result = run_round(config, inputs, dropouts=drops, rng=det_rng(5))
    assert_exact(config, inputs, result)
    assert result.survivors == frozenset(range(1, 17)) - {2, 9}
    assert result.dropped == drops
    graph_has_9 = result.reconstructed["pairwise"] == (9,)
    assert graph_has_9
    assert 14 in result.reconstructed["self_mask"]


def test_abort_names_the_client_whose_secret_lacks_holders():
    """Too few R4 answers for a survivor's b aborts naming that client, with no sum."""
    config = Config(n=5, t=3, n_min=3, k=4, b=16, m=4)
    inputs = inputs_for(config, 3)
    result = run_round(config, inputs, dropouts={1: "R4", 2: "R4", 3: "R4"})
    assert result.sum is None
    assert result.aborted is not None and result.aborted.startswith("client 1:")
    assert "fewer than t = 3" in result.aborted
    assert result.survivors == frozenset(range(1, 6))


def test_abort_names_a_dropped_client_whose_key_cannot_be_rebuilt():
    """A client dropped in R2 whose live holders fall below t is named in the abort."""
    config = Config(n=5, t=3, n_min=3, k=4, b=16, m=4)
    result = run_round(config, inputs_for(config, 4), dropouts={1: "R2", 2: "R4", 3: "R4"})
    assert result.sum is None
    assert result.aborted is not None
    assert "client 1: only 2 shares of its masking key s^SK" in result.aborted
    # Survivors 2 and 3 lost holders too: every failing client is named.
    assert "client 2:" in result.aborted and "client 3:" in result.aborted


def test_fewer_than_n_min_survivors_aborts():
    """When U3 falls below n_min the server aborts instead of releasing a sum."""
    config = Config(n=6, t=3, k=5, b=8, m=4, n_min=5)
    result = run_round(config, inputs_for(config), dropouts={1: "R2", 2: "R2"})
    assert result.sum is None
    assert result.aborted is not None and "n_min = 5" in result.aborted


def test_more_dropouts_than_planned_abort_at_n_min():
    """With the planner's n_min = n - D, D dropouts give the sum and D + 1 abort, naming n_min.

    t = 2 on this ring would leave enough holders for far more dropouts;
    n_min is what stops a round that lost more clients than planned.
    """
    p = plan(20, 0.1, 0.0)
    assert (p.t, p.dropouts, p.n_min) == (2, 2, 18)
    config = p.config(b=16, m=4)
    inputs = inputs_for(config, 11)
    ok = run_round(config, inputs, dropouts={3: "R1", 11: "R2"}, rng=det_rng(b"planned"))
    assert_exact(config, inputs, ok)
    lost = run_round(
        config, inputs, dropouts={3: "R1", 11: "R2", 17: "R2"}, rng=det_rng(b"planned")
    )
    assert lost.sum is None
    assert lost.aborted == ("only 17 clients had their masked input folded, fewer than n_min = 18.")


def _ring(config: Config, nonce: bytes) -> tuple[int, ...]:
    return Graph.build(config, config.session_id(nonce)).order


def test_disconnected_survivors_abort_at_r2():
    """Survivors split into two ring segments: the server aborts instead of unmasking either part.

    k = 4: clients are linked to the 2 ring positions on each side, so a run of
    2 missing positions cuts the ring once (a path remains) and two such runs
    cut it in two.
    """
    config = Config(n=12, t=2, k=4, b=16, m=3, n_min=6)
    nonce = b"\x05" * 32
    ring = _ring(config, nonce)
    inputs = inputs_for(config, 12)
    one_cut = {ring[2]: "R1", ring[3]: "R2"}
    ok = run_round(config, inputs, dropouts=one_cut, nonce=nonce)
    assert_exact(config, inputs, ok)
    two_cuts = {**one_cut, ring[8]: "R1", ring[9]: "R1"}
    split = run_round(config, inputs, dropouts=two_cuts, nonce=nonce)
    assert split.sum is None
    assert split.aborted is not None
    assert split.aborted.startswith("the 8 surviving clients are not connected on the k = 4 ring")
    assert "2 at ring position 2, 2 at ring position 8" in split.aborted
    # A run of one missing client per gap never cuts a k = 4 ring.
    scattered = {ring[p]: "R2" for p in (1, 4, 7, 10)}
    assert_exact(config, inputs, run_round(config, inputs, dropouts=scattered, nonce=nonce))


def test_dropout_at_r0_below_n_min_aborts_early():
    """Losing too many clients in R0 aborts right after R0, naming the count."""
    config = Config(n=5, t=3, n_min=3, k=4, b=8, m=4)
    result = run_round(config, inputs_for(config), dropouts={1: "R0", 2: "R0", 3: "R0"})
    assert result.aborted is not None and "advertised" in result.aborted
    assert result.survivors == frozenset()
    assert result.bytes_sent[1] == {}


def test_full_transcript_records_every_received_message():
    """transcript='full' holds each message the server received, and masked inputs for U3."""
    config = Config(n=5, t=3, n_min=3, k=4, b=16, m=8)
    inputs = inputs_for(config, 5)
    result = run_round(config, inputs, transcript="full", dropouts={2: "R2"})
    assert result.transcript is not None and result.masked_inputs is not None
    assert all(isinstance(e, TranscriptEntry) and e.data is not None for e in result.transcript)
    assert all(hashlib.sha256(e.data).hexdigest() == e.sha256 for e in result.transcript)
    assert set(result.masked_inputs) == set(result.survivors)
    # What the server saw is masked: no y_u equals its x_u.
    for u, y in result.masked_inputs.items():
        assert y.dtype == config.dtype and not np.array_equal(y, inputs[u])
    # Even their sum is masked until the server removes the self-masks.
    raw = np.zeros(config.m, dtype=np.uint64)
    for y in result.masked_inputs.values():
        raw = raw + y.astype(np.uint64)
    assert not np.array_equal((raw % (1 << config.b)).astype(config.dtype), result.sum)
    # Bytes per client per round are exactly what the transcript shows.
    for u in range(1, 6):
        per: dict[str, int] = {}
        for e in result.transcript:
            if e.sender == u:
                per[e.round] = per.get(e.round, 0) + e.length
        assert per == result.bytes_sent[u]
    assert "R2" not in result.bytes_sent[2] and "R1" in result.bytes_sent[2]


def test_digest_transcript_keeps_no_message_bodies():
    """transcript='digest' keeps round, sender, length and hash but no data."""
    config = Config(n=4, t=2, n_min=2, k=3, b=8, m=1000)
    result = run_round(config, inputs_for(config), transcript="digest")
    assert result.transcript and all(e.data is None for e in result.transcript)
    assert result.masked_inputs is None
    assert {e.round for e in result.transcript} == {"R0", "R1", "R2", "R4"}
    r2 = [e.length for e in result.transcript if e.round == "R2"]
    assert all(length > 1000 for length in r2)


def test_no_transcript_by_default_and_timings_per_phase():
    """Without transcript nothing is kept; timings name every phase, client and server apart."""
    config = Config(n=4, t=2, n_min=2, k=3, b=8, m=10)
    result = run_round(config, inputs_for(config))
    assert result.transcript is None and result.masked_inputs is None
    for rnd in ("R0", "R1", "R2", "R4"):
        assert result.timings[f"{rnd}.client"] >= 0 and result.timings[f"{rnd}.server"] >= 0
    assert result.timings["total"] >= sum(v for k, v in result.timings.items() if k != "total") * 0


def test_injected_rng_makes_the_round_reproducible():
    """The same injected rng and nonce give byte-identical transcripts."""
    config = Config(n=5, t=3, n_min=3, k=4, b=16, m=6)
    inputs = inputs_for(config, 6)
    a = run_round(config, inputs, transcript="full", rng=det_rng(1))
    b = run_round(config, inputs, transcript="full", rng=det_rng(1))
    c = run_round(config, inputs, transcript="full", rng=det_rng(2))
    assert [e.data for e in a.transcript] == [e.data for e in b.transcript]
    assert [e.data for e in a.transcript] != [e.data for e in c.transcript]
    np.testing.assert_array_equal(a.sum, c.sum)


def test_active_mode_happy_path_with_runner_made_keys():
    """Active mode on the complete graph gives the exact sum with runner-made keys."""
    config = Config(
        n=6, t=5, n_min=5, k=5, b=32, m=10, c=1, mode=Mode.ACTIVE, registry_digest=b"\x01" * 32
    )
    inputs = inputs_for(config, 7)
    result = run_round(config, inputs, transcript="digest")
    assert_exact(config, inputs, result)
    assert {e.round for e in result.transcript} == set(ROUNDS)


@pytest.mark.parametrize("rnd", ["R2", "R3", "R4"])
def test_active_mode_dropout(rnd):
    """Active mode recovers from a client stopping before R2, R3 or R4."""
    config = Config(
        n=7, t=5, n_min=5, k=6, b=16, m=10, c=1, mode=Mode.ACTIVE, registry_digest=b"\x01" * 32
    )
    inputs = inputs_for(config, 8)
    result = run_round(config, inputs, dropouts={3: rnd})
    assert_exact(config, inputs, result)
    assert (3 in result.survivors) == (rnd != "R2")


def test_active_mode_with_given_keys_and_matching_digest():
    """Caller-supplied signing keys work when the config carries their registry digest."""
    rng = det_rng(9)
    keys = {u: crypto.ed25519_keypair(rng)[0] for u in range(1, 6)}
    vks = {u: crypto.ed25519_public(k) for u, k in keys.items()}
    config = Config(
        n=5,
        t=4,
        n_min=4,
        k=4,
        b=8,
        m=3,
        c=1,
        mode=Mode.ACTIVE,
        registry_digest=registry_digest(vks, 5),
    )
    inputs = inputs_for(config, 9)
    assert_exact(config, inputs, run_round(config, inputs, signing_keys=keys))


def test_active_mode_with_a_wrong_registry_digest_aborts():
    """Clients refuse a config whose registry digest differs from their registry."""
    rng = det_rng(10)
    keys = {u: crypto.ed25519_keypair(rng)[0] for u in range(1, 6)}
    config = Config(
        n=5, t=4, n_min=4, k=4, b=8, m=3, c=1, mode=Mode.ACTIVE, registry_digest=b"\x02" * 32
    )
    result = run_round(config, inputs_for(config), signing_keys=keys)
    assert result.sum is None and result.aborted is not None
    assert result.dropped == {u: "R0" for u in range(1, 6)}


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"inputs": {1: np.zeros(4, np.uint32)}}, "every client id"),
        ({"dropouts": {1: "R5"}}, "dropouts"),
        ({"dropouts": {9: "R1"}}, "dropouts"),
        ({"transcript": "all"}, "transcript"),
        ({"inputs": {u: np.full(4, 256, np.uint32) for u in range(1, 5)}}, "0..2\\^8 - 1"),
        ({"inputs": {u: np.zeros(5, np.uint32) for u in range(1, 5)}}, "shape"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, match):
    """Bad runner arguments raise InvalidInputError naming the problem."""
    config = Config(n=4, t=2, n_min=2, k=3, b=8, m=4)
    args = {"inputs": {u: np.zeros(4, np.uint32) for u in range(1, 5)}, **kwargs}
    inputs = args.pop("inputs")
    with pytest.raises(InvalidInputError, match=match):
        run_round(config, inputs, **args)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_random_dropout_schedules_give_exact_sum_or_clean_abort(data):
    """Any dropout schedule yields the exact sum over U3 or an abort with no sum."""
    config = Config(n=8, t=3, n_min=3, k=4, b=12, m=5)
    inputs = inputs_for(config, 12)
    drops = data.draw(st.dictionaries(st.integers(1, 8), st.sampled_from(ROUNDS), max_size=5))
    result = run_round(config, inputs, dropouts=drops)
    if result.aborted is None:
        assert_exact(config, inputs, result)
        folded_if_honest = {u for u in range(1, 9) if drops.get(u, "R9") not in ("R0", "R1", "R2")}
        # A client that did not drop may still refuse (fewer than t live holders):
        # it is then counted as dropped, never silently missing.
        assert result.survivors <= folded_if_honest
        assert all(u in result.dropped for u in folded_if_honest - result.survivors)
    else:
        assert result.sum is None
        assert len(result.survivors) < 3 or "client" in result.aborted or "only" in result.aborted

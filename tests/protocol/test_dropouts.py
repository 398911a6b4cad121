"""Dropout schedules against an independent model of PROTOCOL.md §8.

Every schedule says, for some clients, the round before whose reply the client
stops (R0..R4). From the schedule and the graph alone the model below derives
U1, U2, U3, the secrets the server must reconstruct and how many live holders
each has, and so predicts the outcome: the exact sum over U3, or an abort that
names the client whose secret lacks t live holders (or |U3| < n_min, or too few
survivor signatures in active mode). A round never returns a sum that differs
from the plain numpy sum over exactly the predicted survivors.

The schedules are drawn by hypothesis: complete and Harary graphs in
semi_honest mode and the complete graph in active mode, n in 3..40 (mostly
small, since every client does k key agreements), with tiny vectors.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pytest
from helpers import det_rng
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from secagg import crypto
from secagg.protocol.config import Config
from secagg.protocol.graph import Graph
from secagg.protocol.registry import registry_digest
from secagg.protocol.runner import run_round
from secagg.protocol.thresholds import threshold_violation
from secagg.protocol.vocabulary import Mode

ROUNDS = ("R0", "R1", "R2", "R3", "R4")
# Round index at which a client stops replying; 5 = never drops.
_STOP = {r: i for i, r in enumerate(ROUNDS)}
NEVER = 5
B_CHOICES = (1, 2, 7, 8, 16, 31, 32, 33, 63, 64)


@dataclass
class Prediction:
    """What §8 says must happen for one schedule."""

    U1: frozenset[int]
    U2: frozenset[int]
    U3: frozenset[int]
    responders: frozenset[int]
    self_mask: frozenset[int] = frozenset()
    pairwise: frozenset[int] = frozenset()
    abort: str | None = None  # "n_min", "connectivity", "signatures", "holders"
    short: frozenset[int] = field(default_factory=frozenset)  # secrets below t holders
    count: int = 0  # size of the first survivor set below n_min


def _connected(members: frozenset[int], N: Mapping[int, frozenset[int]]) -> bool:
    """Breadth-first search over the graph induced on ``members``."""
    if not members:
        return True
    start = min(members)
    seen = {start}
    todo = [start]
    while todo:
        u = todo.pop()
        for v in N[u] & members:
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen == members


def predict(
    graph: Graph, t: int, n_min: int, active: bool, stop: Mapping[int, int], c: int = 0
) -> Prediction:
    """Derive the survivor sets and the outcome of a round from its dropout schedule.

    Args:
        graph: The session graph.
        t: Shamir threshold.
        n_min: Fewest survivors for which a sum may be released.
        active: Active mode (R3 consistency check with signatures).
        stop: Client id -> index of the round before whose reply it stops
            (0..4), NEVER if it completes.
        c: Corrupt holders tolerated (a client refuses R4 with fewer than
            c + 1 surviving neighbours).
    """
    n = graph.n
    ids = range(1, n + 1)
    N = {u: frozenset(graph.neighbours(u)) for u in ids}
    # R0: the clients that advertised keys.
    U1 = frozenset(u for u in ids if stop[u] > 0)
    # R1: a client shares over H(u) ∩ U1; it refuses when fewer than t of its
    # own holders remain, since its secrets could never be reconstructed.
    U2 = frozenset(u for u in U1 if stop[u] > 1 and len((N[u] | {u}) & U1) >= t)
    # R2: M_u = N(u) ∩ U2 (the server forwards exactly those ciphertexts);
    # u aborts if |M_u| + 1 < t; otherwise its y_u is folded.
    U3 = frozenset(u for u in U2 if stop[u] > 2 and len(N[u] & U2) + 1 >= t)
    pred = Prediction(U1, U2, U3, frozenset())
    # The server checks n_min whenever a survivor set is fixed (end of R0, R1, R2).
    for survivors in (U1, U2, U3):
        if len(survivors) < n_min:
            pred.abort = "n_min"
            pred.count = len(survivors)
            return pred
    # On a sparse graph the server refuses survivors that split into parts.
    if not graph.complete and not _connected(U3, N):
        pred.abort = "connectivity"
        return pred
    # R3/R4: a client refuses a survivor list leaving fewer than t of its own H(u),
    # and R4 also with fewer than c + 1 surviving neighbours.
    agree = frozenset(u for u in U3 if len((N[u] | {u}) & U3) >= t)
    unmask = frozenset(u for u in agree if len(N[u] & U3) >= c + 1)
    if active:
        signers = frozenset(u for u in agree if stop[u] > 3)
        # Complete graph: every client needs t signatures from H(v) ∩ U3 = U3.
        if len(signers) < t:
            pred.abort = "signatures"
            return pred
        responders = frozenset(u for u in signers & unmask if stop[u] > 4)
    else:
        # No R3 in semi_honest: a client stopping before R3 never answers R4 either.
        responders = frozenset(u for u in unmask if stop[u] > 4)
    pred.responders = responders
    # R4: holder w answers for v ∈ M_w ∪ {w}; v ∈ M_w iff v ∈ N(w) ∩ U2.
    pred.self_mask = U3
    pred.pairwise = frozenset(v for v in U2 - U3 if N[v] & U3)
    short = {v for v in pred.self_mask if len((N[v] | {v}) & responders) < t}
    short |= {v for v in pred.pairwise if len(N[v] & responders) < t}
    if short:
        pred.abort = "holders"
        pred.short = frozenset(short)
    return pred


# --------------------------------------------------------------------------
# schedule strategies


@dataclass(frozen=True)
class Case:
    """One drawn round: config, inputs, schedule, session nonce and rng seed."""

    config: Config
    inputs: dict[int, np.ndarray]
    dropouts: dict[int, str]
    nonce: bytes
    seed: bytes
    signing_keys: dict[int, bytes] | None


def _dropouts(draw: st.DrawFn, n: int, rounds: tuple[str, ...]) -> dict[int, str]:
    rate = draw(st.sampled_from([0.0, 0.1, 0.2, 0.35, 0.6]))
    out = {}
    for u in range(1, n + 1):
        if draw(st.floats(0, 1, exclude_max=True)) < rate:
            out[u] = draw(st.sampled_from(rounds))
    return out


def _inputs(draw: st.DrawFn, n: int, m: int, b: int, dtype: type) -> dict[int, np.ndarray]:
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)  # test data only, not key material
    style = draw(st.sampled_from(["random", "zero", "max"]))
    hi = (1 << b) - 1
    out = {}
    for u in range(1, n + 1):
        if style == "zero":
            x = np.zeros(m, dtype=dtype)
        elif style == "max":
            x = np.full(m, hi, dtype=dtype)
        else:
            x = gen.integers(0, hi, size=m, dtype=np.uint64, endpoint=True).astype(dtype)
        out[u] = x
    return out


def _thresholds(draw: st.DrawFn, n: int, k: int, c: int, mode: Mode) -> tuple[int, int]:
    ts = [t for t in range(2, k + 2) if threshold_violation(n, t, k, c, t, mode) is None]
    t = draw(st.sampled_from(ts))
    n_min = draw(st.sampled_from([t, t, t, t, min(n, t + 1), min(n, t + 3), n]))
    return t, n_min


@st.composite
def semi_honest_complete(draw: st.DrawFn) -> Case:
    """Complete graph, semi_honest, n in 3..30 (mostly up to 14)."""
    n = draw(st.integers(3, 8) | st.integers(3, 14) | st.integers(15, 30))
    k = n - 1
    return _case(draw, n, k, 0, Mode.SEMI_HONEST, ROUNDS)


@st.composite
def semi_honest_harary(draw: st.DrawFn) -> Case:
    """Harary graph (even k <= n - 2), semi_honest, n in 4..40."""
    n = draw(st.integers(4, 12) | st.integers(13, 40))
    k = draw(st.sampled_from([k for k in range(2, min(n - 2, 14) + 1, 2)]))
    c = draw(st.sampled_from([0, 0, 1]))
    return _case(draw, n, k, c, Mode.SEMI_HONEST, ROUNDS)


@st.composite
def active_complete(draw: st.DrawFn) -> Case:
    """Complete graph, active mode with signatures, n in 3..14."""
    n = draw(st.integers(3, 8) | st.integers(9, 14))
    c = draw(st.sampled_from([0, 0, 1]))
    return _case(draw, n, n - 1, c, Mode.ACTIVE, ROUNDS)


def _case(draw: st.DrawFn, n: int, k: int, c: int, mode: Mode, rounds: tuple[str, ...]) -> Case:
    if mode is Mode.SEMI_HONEST and c >= k:
        c = 0
    t, n_min = _thresholds(draw, n, k, c, mode)
    b = draw(st.sampled_from(B_CHOICES))
    m = draw(st.integers(1, 4) | st.integers(5, 40))
    seed = draw(st.binary(min_size=16, max_size=16))
    rng = det_rng(b"keys/" + seed)
    signing = None
    digest = bytes(32)
    if mode is Mode.ACTIVE:
        pairs = {u: crypto.ed25519_keypair(rng) for u in range(1, n + 1)}
        signing = {u: sk for u, (sk, _) in pairs.items()}
        digest = registry_digest({u: vk for u, (_, vk) in pairs.items()}, n)
    config = Config(n=n, t=t, k=k, b=b, m=m, c=c, n_min=n_min, mode=mode, registry_digest=digest)
    inputs = _inputs(draw, n, m, b, config.dtype)
    return Case(config, inputs, _dropouts(draw, n, rounds), rng(32), seed, signing)


# --------------------------------------------------------------------------
# the check


_CLIENT_RE = re.compile(r"\bclients? (\d+)\b")


def _explain(pred: Prediction, graph: Graph, result: object) -> str:
    """The model's sets, the graph and the runner's drop record, for a failure message."""
    return (
        f"model U1={sorted(pred.U1)} U2={sorted(pred.U2)} U3={sorted(pred.U3)} "
        f"responders={sorted(pred.responders)}; graph "
        f"{ {u: graph.neighbours(u) for u in range(1, graph.n + 1)} }; "
        f"runner dropped={getattr(result, 'dropped', None)}"
    )


def check_case(case: Case) -> str:
    """Run the round, compare every observable with the model; return the outcome label."""
    cfg = case.config
    sid = cfg.session_id(case.nonce)
    graph = Graph.build(cfg, sid)
    stop = {u: _STOP.get(case.dropouts.get(u, ""), NEVER) for u in range(1, cfg.n + 1)}
    pred = predict(graph, cfg.t, cfg.n_min, cfg.mode is Mode.ACTIVE, stop, cfg.c)
    result = run_round(
        cfg,
        case.inputs,
        dropouts=case.dropouts,
        nonce=case.nonce,
        signing_keys=case.signing_keys,
        rng=det_rng(b"round/" + case.seed),
    )
    if pred.abort is None:
        assert result.aborted is None, (
            f"predicted the sum over U3 = {sorted(pred.U3)}, got abort: {result.aborted}; "
            f"{_explain(pred, graph, result)}"
        )
        assert result.survivors == pred.U3, _explain(pred, graph, result)
        mod = 1 << cfg.b
        expected = np.zeros(cfg.m, dtype=object)
        for u in pred.U3:
            expected = (expected + case.inputs[u].astype(object)) % mod
        assert result.sum is not None
        assert result.sum.dtype == cfg.dtype and result.sum.shape == (cfg.m,)
        assert [int(v) for v in result.sum] == [int(v) for v in expected]
        assert frozenset(result.reconstructed["self_mask"]) == pred.self_mask
        assert frozenset(result.reconstructed["pairwise"]) == pred.pairwise
        # Every client outside U3 counts as dropped at the round the model says:
        # R0 outside U1, R1 in U1 \ U2 (silent or refusing), R2 in U2 \ U3.
        for u in range(1, cfg.n + 1):
            want = (
                "R0"
                if u not in pred.U1
                else "R1"
                if u not in pred.U2
                else "R2"
                if u not in pred.U3
                else None
            )
            if want is not None:
                assert result.dropped.get(u) == want, (u, want, result.dropped)
        # Survivors that stopped answering later are dropped in the round they skipped.
        for u, r in case.dropouts.items():
            if u in pred.U3:
                later = "R4" if r == "R3" and cfg.mode is Mode.SEMI_HONEST else r
                assert result.dropped.get(u) == later, (u, r, result.dropped)
    else:
        assert result.sum is None, (
            f"predicted an abort ({pred.abort}) but got a sum; {_explain(pred, graph, result)}"
        )
        assert result.aborted, "an aborted round must give a reason"
        reason = result.aborted
        if pred.abort == "holders":
            named = {int(x) for x in _CLIENT_RE.findall(reason)}
            assert named & pred.short, (
                f"abort reason {reason!r} names none of the clients short of holders "
                f"{sorted(pred.short)}; {_explain(pred, graph, result)}"
            )
        elif pred.abort == "n_min":
            assert f"only {pred.count} clients" in reason and f"n_min = {cfg.n_min}" in reason, (
                reason
            )
        elif pred.abort == "connectivity":
            assert "not connected" in reason, reason
        else:
            assert "signed the survivor list" in reason, reason
    return f"{cfg.mode.value} {'complete' if cfg.complete else 'harary'}: {pred.abort or 'sum'}"


# Example counts: 900 + 700 + 400 = 2000 schedules.
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=900, **SETTINGS)
@given(semi_honest_complete())
def test_semi_honest_complete_graph(case: Case) -> None:
    """Complete graph, semi_honest: exact sum over the predicted U3, or the predicted abort."""
    event(check_case(case))


@settings(max_examples=700, **SETTINGS)
@given(semi_honest_harary())
def test_semi_honest_harary_graph(case: Case) -> None:
    """Harary graph, semi_honest: exact sum over the predicted U3, or the predicted abort."""
    event(check_case(case))


@settings(max_examples=400, **SETTINGS)
@given(active_complete())
def test_active_complete_graph(case: Case) -> None:
    """Active mode: exact sum over the predicted U3, or the predicted abort (incl. signatures)."""
    event(check_case(case))


# --------------------------------------------------------------------------
# hand-picked schedules that the model must get right (and that pin the model)


def _fixed(n: int, k: int, t: int, dropouts: dict[int, str], n_min: int | None = None) -> Case:
    cfg = Config(n=n, t=t, k=k, b=16, m=5, n_min=t if n_min is None else n_min)
    inputs = {u: np.arange(5, dtype=cfg.dtype) * u for u in range(1, n + 1)}
    return Case(cfg, inputs, dropouts, hashlib.sha256(b"fixed").digest(), b"fixed", None)


@pytest.mark.parametrize(
    "n,k,t,dropouts,n_min,outcome",
    [
        (5, 4, 3, {}, None, "sum"),
        (5, 4, 3, {1: "R0", 2: "R1"}, None, "sum"),
        (5, 4, 3, {1: "R2", 2: "R2"}, None, "sum"),
        (5, 4, 3, {1: "R2", 2: "R4"}, None, "sum"),
        (5, 4, 3, {1: "R2", 2: "R4", 3: "R4"}, None, "holders"),
        (5, 4, 3, {1: "R2", 2: "R2", 3: "R2"}, None, "n_min"),
        (5, 4, 3, {1: "R1"}, 5, "n_min"),
        (6, 5, 3, {1: "R0", 2: "R0", 3: "R0", 4: "R0"}, 2, "config"),
    ],
)
def test_hand_picked_schedules(
    n: int, k: int, t: int, dropouts: dict[int, str], n_min: int | None, outcome: str
) -> None:
    """Small schedules with known outcomes pin both the model and the implementation."""
    if outcome == "config":
        from secagg.exceptions import InvalidInputError

        with pytest.raises(InvalidInputError):
            Config(n=n, t=t, k=k, b=16, m=5, n_min=t if n_min is None else n_min)
        return
    case = _fixed(n, k, t, dropouts, n_min)
    sid = case.config.session_id(case.nonce)
    stop = {u: _STOP.get(dropouts.get(u, ""), NEVER) for u in range(1, n + 1)}
    pred = predict(Graph.build(case.config, sid), t, case.config.n_min, False, stop)
    assert (pred.abort or "sum") == outcome
    check_case(case)

"""Tests for secagg.protocol.config: §6 refusal rules, canonical encoding, session id, policy."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from secagg.exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError
from secagg.protocol.config import CANONICAL_SIZE, Config, new_nonce
from secagg.protocol.policy import ClientPolicy
from secagg.protocol.registry import registry_digest
from secagg.protocol.vocabulary import Mode

VECTOR = json.loads((Path(__file__).parents[1] / "data" / "config_vector.json").read_text())
DIGEST = hashlib.sha256(b"some registry").digest()


def _cfg(**kw: Any) -> Config:
    base: dict[str, Any] = dict(n=10, t=5, k=8, b=32, m=100, n_min=5)
    base.update(kw)
    return Config(**base)


def _active(**kw: Any) -> Config:
    base: dict[str, Any] = dict(
        n=10, t=7, k=9, c=3, b=32, m=100, n_min=7, mode="active", registry_digest=DIGEST
    )
    base.update(kw)
    return Config(**base)


# ------------------------------------------------------------------ refusal rules


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(t=1, k=2, n=5, n_min=2), "t must be at least 2"),
        (dict(n=10, k=4, t=6, n_min=6), "must not exceed the h = k \\+ 1 = 5"),
        (dict(n_min=4), "n_min must be at least t"),
        (dict(c=5), "t > c"),
        (dict(k=7), "even k"),
        (dict(k=0, t=2), "k must lie in 2..n-1"),
        (dict(k=10, t=6, n_min=6), "k must lie in 2..n-1"),
        (dict(b=0), "b must lie in 1..64"),
        (dict(b=65), "b must lie in 1..64"),
        (dict(m=0), "m \\(vector length\\) must be positive"),
        (dict(m=-3), "must be positive"),
        (dict(m=2**34 + 1, b=32), "2\\^36"),
        (dict(m=2**33 + 1, b=33), "2\\^36"),
        (dict(registry_digest=bytes(31)), "must be 32 bytes"),
        (dict(registry_digest=DIGEST), "semi_honest mode carries no registry"),
        (dict(n_min=11), "n_min must not exceed n"),
        (dict(n=2, k=1, t=2, n_min=2), "n must lie in 3.."),
        (dict(c=-1), "field c must fit in 32 bits"),
        (dict(n=2**32, k=8), "largest cohort a message can carry"),
        (dict(n=2**20 + 8, k=8), "largest cohort a message can carry"),
        (dict(mode="malicious"), "mode must be"),
        (dict(t=5.0), "must be an integer"),
        (dict(n=True), "must be an integer"),
        (dict(n_min="5"), "n_min must be an integer"),
        (dict(registry_digest="00" * 32), "registry_digest must be bytes"),
    ],
)
def test_semi_honest_refusals(kwargs: dict[str, Any], match: str) -> None:
    """Each §6 rule (and each field check) refuses with a sentence naming it."""
    with pytest.raises(InvalidInputError, match=match):
        _cfg(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(t=6), "2t > h \\+ c"),
        (dict(k=8), "complete graph only"),
        (dict(registry_digest=bytes(32)), "active mode needs the registry digest"),
        (dict(t=11), "must not exceed the h"),
    ],
)
def test_active_refusals(kwargs: dict[str, Any], match: str) -> None:
    """Active mode refuses 2t <= h + c, sparse graphs and an all-zero digest."""
    with pytest.raises(InvalidInputError, match=match):
        _active(**kwargs)


def _valid(n: int, t: int, k: int, c: int, n_min: int, b: int, m: int, mode: str, d: bytes) -> bool:
    """The §6 rules plus this package's additions, written out independently."""
    h = k + 1
    w = 4 if b <= 32 else 8
    return (
        3 <= n <= 2**20
        and c >= 0
        and 2 <= k <= n - 1
        and (k == n - 1 or k % 2 == 0)
        and 2 <= t <= h
        and t <= n_min <= n
        and 1 <= b <= 64
        and m >= 1
        and m * w <= 2**36
        and len(d) == 32
        and (
            (mode == "semi_honest" and t > c and d == bytes(32))
            or (mode == "active" and k == n - 1 and 2 * t > h + c and d != bytes(32))
        )
    )


@st.composite
def _near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config's fields with at most one field moved to or across a boundary."""
    n = draw(st.integers(3, 14))
    mode = draw(st.sampled_from(["semi_honest", "active"]))
    c = draw(st.integers(0, 2))
    if mode == "active":
        k = n - 1
        t = draw(st.integers(min((k + 1 + c) // 2 + 1, k + 1), k + 1))
        c = min(c, 2 * t - k - 2)
        d = DIGEST
    else:
        k = draw(st.sampled_from([n - 1, *range(2, n - 1, 2)]))
        c = min(c, k // 2)
        t = draw(st.integers(max(c + 1, 2), k + 1))
        d = bytes(32)
    b = draw(st.sampled_from([1, 32, 33, 64]))
    m = draw(st.sampled_from([1, 5, 2**33] + ([2**34] if b <= 32 else [])))
    fields: dict[str, Any] = dict(
        n=n, t=t, k=k, c=c, n_min=draw(st.integers(t, n)), b=b, m=m, mode=mode, registry_digest=d
    )
    moved = draw(st.sampled_from([None, "n", "t", "k", "c", "n_min", "b", "m", "registry_digest"]))
    if moved == "registry_digest":
        fields[moved] = draw(st.sampled_from([bytes(32), DIGEST, bytes(31)]))
    elif moved == "m":
        fields[moved] = draw(st.sampled_from([0, -1, 2**33 + 1, 2**34, 2**34 + 1]))
    elif moved is not None:
        fields[moved] = fields[moved] + draw(st.integers(-3, 3))
    return fields


@settings(max_examples=400)
@given(fields=_near_valid())
def test_rules_match_independent_predicate(fields: dict[str, Any]) -> None:
    """A Config is built exactly when the written-out rules hold; otherwise InvalidInputError."""
    expect = _valid(
        fields["n"],
        fields["t"],
        fields["k"],
        fields["c"],
        fields["n_min"],
        fields["b"],
        fields["m"],
        fields["mode"],
        fields["registry_digest"],
    )
    event(f"valid {fields['mode']}" if expect else "refused")
    try:
        Config(**fields)
    except InvalidInputError:
        assert not expect
    else:
        assert expect


def test_refusals_are_value_errors() -> None:
    """A refused config raises something a caller can catch as ValueError."""
    with pytest.raises(ValueError):
        _cfg(t=1)


def test_boundaries_accepted() -> None:
    """Values exactly at each limit are accepted."""
    _cfg(t=9, k=8, n_min=9)  # t = h
    _cfg(t=5, k=8, c=4)  # t = c + 1
    _cfg(t=2, k=8)  # semi_honest: no majority rule, t = 2 <= k/2 is accepted
    _cfg(t=2, k=9, c=1)  # ... on the complete graph too (the planner picks a live majority)
    _cfg(m=2**34, b=32)  # m * 4 = 2^36
    _cfg(m=2**33, b=64)  # m * 8 = 2^36
    _cfg(b=1)
    _cfg(b=64)
    _cfg(n_min=10)
    Config(n=3, t=2, n_min=2, k=2, b=8, m=1)  # smallest complete graph
    Config(n=4, t=2, n_min=2, k=2, b=8, m=1)  # smallest sparse graph
    _active(t=7, c=3)  # 2t = 14 > h + c = 13
    _cfg(k=9, t=5)  # odd k is fine on the complete graph
    _cfg(n=2**20, k=8, n_min=5)  # the wire limit itself


def test_n_min_has_no_default() -> None:
    """A hand-built Config must state n_min (PROTOCOL.md §5): leaving it out is an error."""
    with pytest.raises(TypeError, match="n_min"):
        Config(n=10, t=5, k=8, b=32, m=100)  # type: ignore[call-arg]
    with pytest.raises(InvalidInputError, match="n_min must be an integer"):
        _cfg(n_min=None)


def test_defaults_and_normalisation() -> None:
    """The mode string is normalised, numpy ints become ints."""
    cfg = Config(
        n=np.int64(10), t=np.int32(5), n_min=np.int32(5), k=8, b=32, m=100, mode="semi_honest"
    )
    assert cfg.n_min == 5 and type(cfg.n) is int
    assert cfg.mode is Mode.SEMI_HONEST
    assert _active().mode is Mode.ACTIVE
    assert Config(
        n=10, t=5, n_min=5, k=8, b=32, m=1, registry_digest=bytearray(32)
    ).registry_digest == bytes(32)


def test_properties() -> None:
    """h, word_bytes, dtype and complete follow b and k."""
    cfg = _cfg(b=32)
    assert (cfg.h, cfg.word_bytes, cfg.dtype, cfg.complete) == (9, 4, np.uint32, False)
    cfg = _cfg(b=33, k=9, t=6, n_min=6)
    assert (cfg.h, cfg.word_bytes, cfg.dtype, cfg.complete) == (10, 8, np.uint64, True)


def test_frozen() -> None:
    """A Config cannot be changed after validation."""
    cfg = _cfg()
    with pytest.raises(AttributeError):
        cfg.t = 1  # type: ignore[misc]


def test_mode_bytes() -> None:
    """Mode canonical bytes are 0 (semi_honest) and 1 (active); others are refused."""
    assert Mode.SEMI_HONEST.byte == 0 and Mode.ACTIVE.byte == 1
    assert Mode.from_byte(1) is Mode.ACTIVE
    with pytest.raises(InvalidInputError):
        Mode.from_byte(2)
    assert Mode.SEMI_HONEST == "semi_honest"


# ------------------------------------------------------------------ canonical, session id


def test_config_vectors() -> None:
    """canonical() and session_id() match the independently generated vectors."""
    for v in VECTOR["configs"]:
        cfg = Config(
            n=v["n"],
            t=v["t"],
            k=v["k"],
            c=v["c"],
            n_min=v["n_min"],
            b=v["b"],
            m=v["m"],
            mode=v["mode"],
            registry_digest=bytes.fromhex(v["registry_digest"]),
        )
        assert cfg.canonical().hex() == v["canonical"]
        assert cfg.session_id(bytes.fromhex(v["nonce"])).hex() == v["session_id"]
        assert Config.from_canonical(bytes.fromhex(v["canonical"])) == cfg


def test_registry_vector() -> None:
    """registry_digest matches the independently generated vector."""
    reg = VECTOR["registry"]
    keys = {int(i): bytes.fromhex(k) for i, k in reg["verify_keys"].items()}
    assert registry_digest(keys, reg["n"]).hex() == reg["digest"]


def test_canonical_layout() -> None:
    """canonical() is label ‖ u8(1) ‖ 5×u32be ‖ u8(b) ‖ u64be(m) ‖ u8(mode) ‖ digest."""
    cfg = _active(n_min=8, b=20, m=12345)
    expect = b"secagg/v1/config" + struct.pack(">B5IBQB", 1, 10, 7, 9, 3, 8, 20, 12345, 1) + DIGEST
    assert cfg.canonical() == expect and len(expect) == CANONICAL_SIZE == 79


@given(
    n=st.integers(3, 2000),
    data=st.data(),
    b=st.integers(1, 64),
    m=st.integers(1, 2**33),
)
def test_canonical_roundtrip(n: int, data: st.DataObject, b: int, m: int) -> None:
    """Any valid semi_honest config survives canonical() -> from_canonical()."""
    complete = data.draw(st.booleans())
    k = n - 1 if complete or n < 4 else 2 * data.draw(st.integers(1, (n - 2) // 2))
    t = data.draw(st.integers(k // 2 + 1, k + 1))
    c = data.draw(st.integers(0, t - 1))
    n_min = data.draw(st.integers(t, n))
    cfg = Config(n=n, t=t, k=k, c=c, n_min=n_min, b=b, m=m)
    assert Config.from_canonical(cfg.canonical()) == cfg


def test_from_canonical_strict() -> None:
    """Wrong length, label, version, mode byte or a §6 violation is MalformedMessageError."""
    good = _active().canonical()
    bad = [
        good[:-1],
        good + b"\0",
        b"X" + good[1:],
        good[:16] + b"\x02" + good[17:],
        good[:-33] + b"\x02" + good[-32:],
        _cfg().canonical()[:-33] + b"\x01" + bytes(32),  # active with zero digest
        good[:17] + struct.pack(">I", 10) + struct.pack(">I", 1) + good[25:],  # t = 1
    ]
    for data in bad:
        with pytest.raises(MalformedMessageError):
            Config.from_canonical(data)
    with pytest.raises(MalformedMessageError):
        Config.from_canonical("text")  # type: ignore[arg-type]
    assert Config.from_canonical(bytearray(good)) == _active()


def test_session_id() -> None:
    """session_id = SHA-256(label ‖ nonce ‖ canonical); depends on nonce and every field."""
    cfg = _cfg()
    nonce = new_nonce()
    assert len(nonce) == 32 and nonce != new_nonce()
    sid = cfg.session_id(nonce)
    assert sid == hashlib.sha256(b"secagg/v1/session" + nonce + cfg.canonical()).digest()
    assert _cfg(n_min=6).session_id(nonce) != sid
    assert _cfg(m=101).session_id(nonce) != sid
    for bad in (nonce[:31], nonce + b"x", "n" * 32):
        with pytest.raises(InvalidInputError, match="32 bytes"):
            cfg.session_id(bad)  # type: ignore[arg-type]


def test_registry_digest_checks() -> None:
    """Missing, extra or wrong-length keys are refused; order of the mapping is irrelevant."""
    keys = {i: bytes([i]) * 32 for i in range(1, 4)}
    d = registry_digest(keys, 3)
    assert d == registry_digest(dict(reversed(list(keys.items()))), 3)
    assert (
        d
        == hashlib.sha256(
            b"secagg/v1/registry" + b"".join(struct.pack(">I", i) + keys[i] for i in (1, 2, 3))
        ).digest()
    )
    with pytest.raises(InvalidInputError, match="no verification key for id 3"):
        registry_digest({1: keys[1], 2: keys[2]}, 3)
    with pytest.raises(InvalidInputError, match="outside 1..3"):
        registry_digest({**keys, 4: keys[1]}, 3)
    with pytest.raises(InvalidInputError, match="outside"):
        registry_digest({**keys, 0: keys[1]}, 3)
    with pytest.raises(InvalidInputError, match="id 2 must be 32 bytes"):
        registry_digest({**keys, 2: bytes(31)}, 3)
    with pytest.raises(InvalidInputError):
        registry_digest(keys, 0)


# ------------------------------------------------------------------ client policy


def _policy(**kw: Any) -> ClientPolicy:
    base: dict[str, Any] = dict(
        gamma_max=0.3, min_n=10, min_t=5, min_n_min=5, registry_digest=DIGEST
    )
    base.update(kw)
    return ClientPolicy(**base)


def test_policy_accepts_matching_active_config() -> None:
    """An active config meeting every rule and minimum passes the policy."""
    _policy().check(_active())


@pytest.mark.parametrize(
    ("policy", "config", "match"),
    [
        (dict(registry_digest=hashlib.sha256(b"other").digest()), {}, "differs from the trusted"),
        (dict(registry_digest=None), {}, "pins no registry"),
        (dict(min_n=11), {}, "below the policy minimum 11"),
        (dict(min_t=8), {}, "t = 7, below the policy minimum 8"),
        (dict(min_n_min=8), {}, "n_min = 7, below"),
        (dict(gamma_max=0.4), {}, "c >= 4"),
    ],
)
def test_policy_refusals_active(policy: dict[str, Any], config: dict[str, Any], match: str) -> None:
    """Digest mismatch, a missing anchor, each minimum and c < floor(gamma_max n) are refused."""
    with pytest.raises(ProtocolViolationError, match=match):
        _policy(**policy).check(_active(**config))


def test_policy_semi_honest_downgrade_refused() -> None:
    """A client that pins a registry refuses a semi_honest config (digest mismatch)."""
    with pytest.raises(ProtocolViolationError, match="registry digest"):
        _policy().check(_cfg(t=5, c=3))


def test_policy_semi_honest_sparse_c() -> None:
    """On a sparse graph the needed c is the planner's hypergeometric bound."""
    from secagg.protocol.thresholds import corrupt_holders_bound

    need = corrupt_holders_bound(1000, 36, 50)
    pol = _policy(gamma_max=0.05, registry_digest=None, min_t=2, min_n_min=2)
    t = max(need + 1, 19)
    pol.check(Config(n=1000, t=t, n_min=t, k=36, c=need, b=32, m=1))
    with pytest.raises(ProtocolViolationError, match=f"c >= {need}"):
        pol.check(Config(n=1000, t=t, n_min=t, k=36, c=need - 1, b=32, m=1))


def test_policy_rate_read_as_decimal() -> None:
    """gamma_max = 0.29 with n = 100 means 29 corrupt clients, not 28."""
    pol = _policy(gamma_max=0.29, min_n=3, min_t=2, min_n_min=2, registry_digest=None)
    with pytest.raises(ProtocolViolationError, match="= 29 corrupt"):
        pol.check(Config(n=100, t=51, n_min=51, k=99, c=28, b=32, m=1))
    pol.check(Config(n=100, t=51, n_min=51, k=99, c=29, b=32, m=1))


def test_policy_rechecks_thresholds() -> None:
    """check() re-runs the §6 rules on what it is handed and refuses non-Configs."""
    cfg = _active()
    object.__setattr__(cfg, "t", 6)  # bypasses validation, as a forged object would
    with pytest.raises(ProtocolViolationError, match="threshold rule"):
        _policy().check(cfg)
    with pytest.raises(ProtocolViolationError, match="expected a Config"):
        _policy().check("config")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(gamma_max=1.0),
        dict(gamma_max=-0.1),
        dict(gamma_max=float("nan")),
        dict(gamma_max=True),
        dict(min_n=-1),
        dict(min_t=2.5),
        dict(registry_digest=bytes(16)),
    ],
)
def test_policy_fields_validated(kwargs: dict[str, Any]) -> None:
    """Out-of-range policy fields are InvalidInputError."""
    with pytest.raises(InvalidInputError):
        _policy(**kwargs)

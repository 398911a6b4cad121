"""Fuzzing of the wire decoders and of the server's handling of hostile input.

Decoder properties: whatever bytes arrive (random, truncated, bit-flipped,
field-mutated, extended), ``messages.decode`` and every ``from_bytes`` either
return a message that re-encodes to exactly the same bytes or raise
``MalformedMessageError``; never another exception.

Server properties: garbage, duplicates, unknown senders and late messages
never crash the server; the sender concerned counts as dropped and the sum
over the remaining survivors stays exact.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from helpers import det_rng as _det_rng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_dropouts import NEVER, predict

from secagg.exceptions import MalformedMessageError
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.graph import Graph
from secagg.protocol.server import Server
from secagg.protocol.vocabulary import State
from secagg.protocol.wire import Limits
from secagg.shamir import P

SID = hashlib.sha256(b"fuzz/session").digest()


# --------------------------------------------------------------------------
# strategies for valid encodings


@st.composite
def limits(draw: st.DrawFn) -> Limits:
    n = draw(st.integers(2, 40))
    active = draw(st.booleans())
    k = n - 1 if active else draw(st.integers(1, n - 1))
    b = draw(st.integers(1, 64))
    m = draw(st.integers(1, 48))
    return Limits(n, k, b, m, active)


def _bytes(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


def _ids(
    draw: st.DrawFn, n: int, exclude: int = 0, min_size: int = 0, max_size: int | None = None
) -> list[int]:
    pool = [i for i in range(1, n + 1) if i != exclude]
    top = len(pool) if max_size is None else min(max_size, len(pool))
    chosen = draw(st.sets(st.sampled_from(pool), min_size=min_size, max_size=top))
    return sorted(chosen)


def _share(draw: st.DrawFn) -> bytes:
    vals = draw(st.lists(st.integers(0, P - 1), min_size=5, max_size=5))
    return b"".join(v.to_bytes(8, "little") for v in vals)


def _canonical(draw: st.DrawFn, lim: Limits) -> bytes:
    t = draw(st.integers(0, 2**32 - 1))
    c = draw(st.integers(0, 2**32 - 1))
    n_min = draw(st.integers(0, 2**32 - 1))
    digest = draw(_bytes(32))
    return (
        b"secagg/v1/config"
        + struct.pack(">BIIIIIBQB", 1, lim.n, t, lim.k, c, n_min, lim.b, lim.m, int(lim.active))
        + digest
    )


def _packed(draw: st.DrawFn, m: int, b: int) -> bytes:
    value = draw(st.integers(0, (1 << (m * b)) - 1))
    return value.to_bytes((m * b + 7) // 8, "little")


@st.composite
def valid_message(draw: st.DrawFn, lim: Limits) -> M.Message:
    """Any well-formed message for the session limits ``lim``."""
    kind = draw(st.sampled_from(sorted(M._BY_TYPE)))
    sig = (lambda: draw(_bytes(64))) if lim.active else (lambda: None)
    client = draw(st.integers(1, lim.n))
    if kind == M.MsgType.CONFIG_REQUEST:
        return M.ConfigRequest(SID, 0, _canonical(draw, lim), draw(_bytes(32)), sig())
    if kind == M.MsgType.KEY_ADVERT:
        return M.KeyAdvert(SID, client, draw(_bytes(32)), draw(_bytes(32)), sig())
    if kind == M.MsgType.ADVERT_FORWARD:
        # An active forward always carries at least the receiver's own advert.
        ids = _ids(draw, lim.n, min_size=1 if lim.active else 0)
        ads = tuple(M.Advert(i, draw(_bytes(32)), draw(_bytes(32)), sig()) for i in ids)
        return M.AdvertForward(SID, 0, ads)
    if kind == M.MsgType.ENCRYPTED_SHARES:
        # A client writes to its k neighbours only; the session size limit says so.
        ids = _ids(draw, lim.n, exclude=client, max_size=lim.k)
        cts = tuple(M.CiphertextOut(i, draw(_bytes(M.CIPHERTEXT_LEN))) for i in ids)
        return M.EncryptedShares(SID, client, draw(_bytes(32)), cts)
    if kind == M.MsgType.SHARE_FORWARD:
        ids = _ids(draw, lim.n, exclude=client, max_size=lim.k)
        cts = tuple(
            M.CiphertextIn(i, draw(_bytes(32)), draw(_bytes(M.CIPHERTEXT_LEN))) for i in ids
        )
        return M.ShareForward(SID, 0, cts)
    if kind == M.MsgType.MASKED_INPUT:
        positions = draw(st.sets(st.integers(0, lim.k - 1)))
        bitmap = M.encode_bitmap(positions, lim.k)
        return M.MaskedInput(SID, client, lim.k, bitmap, lim.b, lim.m, _packed(draw, lim.m, lim.b))
    if kind in (M.MsgType.SURVIVOR_REQUEST, M.MsgType.SURVIVOR_SIGNATURE) and not lim.active:
        kind = M.MsgType.ABORT  # R3 exists only in active mode
    if kind == M.MsgType.SURVIVOR_REQUEST:
        return M.SurvivorRequest(SID, 0, lim.n, tuple(_ids(draw, lim.n)))
    if kind == M.MsgType.SURVIVOR_SIGNATURE:
        return M.SurvivorSignature(SID, client, draw(_bytes(64)))
    if kind == M.MsgType.UNMASK_REQUEST:
        sigs = None
        if lim.active:
            sigs = tuple(M.SignatureEntry(i, draw(_bytes(64))) for i in _ids(draw, lim.n))
        return M.UnmaskRequest(SID, 0, lim.n, tuple(_ids(draw, lim.n)), sigs)
    if kind == M.MsgType.UNMASK_RESPONSE:
        entries = tuple(
            M.ShareEntry(i, draw(st.sampled_from([1, 2])), _share(draw)) for i in _ids(draw, lim.n)
        )
        return M.UnmaskResponse(SID, client, entries)
    reason = draw(st.text(max_size=60))
    return M.AbortNotice(SID, draw(st.integers(0, lim.n)), reason)


@st.composite
def encoded(draw: st.DrawFn) -> tuple[Limits, bytes]:
    lim = draw(limits())
    return lim, draw(valid_message(lim)).to_bytes()


def _decode_all_ways(data: bytes, lim: Limits | None) -> list[M.Message]:
    """Decode with and without the limits and through the type's own from_bytes.

    Returns the messages that decoded; any exception other than
    MalformedMessageError propagates and fails the test.
    """
    out = []
    for cfg in (None, lim) if lim is not None else (None,):
        try:
            msg = M.decode(data, cfg)
        except MalformedMessageError:
            continue
        assert type(M.decode(data, cfg)) is type(msg)
        assert type(msg).from_bytes(data, cfg) == msg
        out.append(msg)
    if len(data) >= 6 and data[5] in M._BY_TYPE:
        for cls in M._BY_TYPE.values():
            if cls.TYPE != data[5]:
                with pytest.raises(MalformedMessageError):
                    cls.from_bytes(data)
    return out


def _canonical_or_malformed(data: bytes, lim: Limits | None) -> None:
    """Every decoded message re-encodes to exactly the bytes it came from."""
    for msg in _decode_all_ways(data, lim):
        assert msg.to_bytes() == bytes(data), f"{type(msg).__name__} is not canonical"


FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------
# decoder properties


@FUZZ
@given(encoded())
def test_valid_encodings_round_trip(case: tuple[Limits, bytes]) -> None:
    """A valid encoding decodes (with and without limits) back to the same bytes."""
    lim, data = case
    msgs = _decode_all_ways(data, lim)
    assert len(msgs) == 2
    assert all(m.to_bytes() == data for m in msgs)


@FUZZ
@given(st.binary(max_size=400), st.none() | limits())
def test_random_bytes(data: bytes, lim: Limits | None) -> None:
    """Arbitrary bytes give MalformedMessageError or a canonical message."""
    _canonical_or_malformed(data, lim)


@FUZZ
@given(
    st.sampled_from(sorted(M._BY_TYPE)),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=300),
    st.none() | limits(),
)
def test_random_bodies_behind_a_valid_header(
    mtype: int, sender: int, body: bytes, lim: Limits | None
) -> None:
    """A correct header followed by random bytes never escapes MalformedMessageError."""
    data = b"SAGG" + bytes([1, mtype]) + SID + sender.to_bytes(4, "big") + body
    _canonical_or_malformed(data, lim)


@FUZZ
@given(encoded(), st.data())
def test_every_truncation_is_malformed(case: tuple[Limits, bytes], data: st.DataObject) -> None:
    """Every proper prefix of a valid message is refused as malformed."""
    lim, raw = case
    cut = data.draw(st.integers(0, len(raw) - 1))
    for cfg in (None, lim):
        with pytest.raises(MalformedMessageError):
            M.decode(raw[:cut], cfg)


@FUZZ
@given(encoded(), st.binary(min_size=1, max_size=64))
def test_trailing_bytes_are_malformed(case: tuple[Limits, bytes], extra: bytes) -> None:
    """A valid message with anything appended is refused as malformed."""
    lim, raw = case
    for cfg in (None, lim):
        with pytest.raises(MalformedMessageError):
            M.decode(raw + extra, cfg)


@FUZZ
@given(encoded(), st.data())
def test_bit_flips(case: tuple[Limits, bytes], data: st.DataObject) -> None:
    """One to three flipped bits give MalformedMessageError or a canonical message."""
    lim, raw = case
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        bit = data.draw(st.integers(0, 8 * len(buf) - 1))
        buf[bit // 8] ^= 1 << (bit % 8)
    _canonical_or_malformed(bytes(buf), lim)


@FUZZ
@given(encoded(), st.data())
def test_overwritten_fields(case: tuple[Limits, bytes], data: st.DataObject) -> None:
    """Overwriting a span with extreme or random bytes never escapes MalformedMessageError."""
    lim, raw = case
    start = data.draw(st.integers(0, len(raw) - 1))
    width = data.draw(st.sampled_from([1, 2, 4, 8]))
    fill = data.draw(
        st.sampled_from([b"\x00", b"\xff", b"\x7f", b"\x80", b"\x01"]).map(lambda b: b * width)
        | _bytes(width)
    )
    mutated = raw[:start] + fill + raw[start + width :]
    _canonical_or_malformed(mutated, lim)


@FUZZ
@given(encoded(), st.data())
def test_spliced_messages(case: tuple[Limits, bytes], data: st.DataObject) -> None:
    """A body cut and glued to another message's header never escapes MalformedMessageError."""
    lim, raw = case
    other = data.draw(valid_message(lim)).to_bytes()
    cut = data.draw(st.integers(M.HEADER_LEN, len(other)))
    _canonical_or_malformed(raw[: M.HEADER_LEN] + other[cut:], lim)
    _canonical_or_malformed(other[: M.HEADER_LEN] + raw[M.HEADER_LEN :], lim)


@settings(max_examples=150, deadline=None)
@given(encoded(), limits())
def test_foreign_session_limits(case: tuple[Limits, bytes], other: Limits) -> None:
    """A message built for one session config, decoded under another, is valid or malformed."""
    _, raw = case
    _canonical_or_malformed(raw, other)


def _header(mtype: int, sender: int) -> bytes:
    return b"SAGG" + bytes([1, mtype]) + SID + sender.to_bytes(4, "big")


HOSTILE = [
    # (description, bytes, limits or None)
    ("empty", b"", None),
    ("short header", b"SAGG\x01", None),
    ("wrong magic", b"SAGH" + _header(1, 0)[4:], None),
    ("version 2", b"SAGG\x02" + _header(1, 0)[5:], None),
    ("unknown type 0x0b", _header(0x0B, 0), None),
    ("unknown type 0x00", _header(0x00, 0), None),
    ("server message from a client", _header(M.MsgType.SURVIVOR_REQUEST, 3) + b"\0\0\0\1\1", None),
    ("client message from id 0", _header(M.MsgType.SURVIVOR_SIGNATURE, 0) + bytes(64), None),
    ("client id above MAX_N", _header(M.MsgType.SURVIVOR_SIGNATURE, M.MAX_N + 1) + bytes(64), None),
    (
        "client id above n",
        _header(M.MsgType.SURVIVOR_SIGNATURE, 6) + bytes(64),
        Limits(5, 4, 8, 4, True),
    ),
    (
        "huge advert count, no entries",
        _header(M.MsgType.ADVERT_FORWARD, 0) + b"\x00\xff\xff\xff\xff",
        None,
    ),
    (
        "count within MAX_N but bytes missing",
        _header(M.MsgType.UNMASK_RESPONSE, 1) + (M.MAX_N).to_bytes(4, "big"),
        None,
    ),
    (
        "share value equal to p",
        _header(M.MsgType.UNMASK_RESPONSE, 1)
        + b"\0\0\0\1"
        + b"\0\0\0\2\1"
        + P.to_bytes(8, "little")
        + bytes(32),
        None,
    ),
    (
        "share kind 3",
        _header(M.MsgType.UNMASK_RESPONSE, 1) + b"\0\0\0\1" + b"\0\0\0\2\3" + bytes(40),
        None,
    ),
    (
        "owner id 0",
        _header(M.MsgType.UNMASK_RESPONSE, 1) + b"\0\0\0\1" + b"\0\0\0\0\1" + bytes(40),
        None,
    ),
    (
        "duplicate owner",
        _header(M.MsgType.UNMASK_RESPONSE, 1) + b"\0\0\0\2" + (b"\0\0\0\2\1" + bytes(40)) * 2,
        None,
    ),
    (
        "ciphertext addressed to its sender",
        _header(M.MsgType.ENCRYPTED_SHARES, 2) + bytes(32) + b"\0\0\0\1\0\0\0\2" + bytes(108),
        None,
    ),
    (
        "masked input b = 0",
        _header(M.MsgType.MASKED_INPUT, 1) + b"\0\0\0\1\1" + b"\x00" + (1).to_bytes(8, "big"),
        None,
    ),
    (
        "masked input b = 65",
        _header(M.MsgType.MASKED_INPUT, 1)
        + b"\0\0\0\1\1"
        + b"\x41"
        + (1).to_bytes(8, "big")
        + bytes(9),
        None,
    ),
    (
        "masked input m = 2^36 (too long for one key)",
        _header(M.MsgType.MASKED_INPUT, 1) + b"\0\0\0\1\1" + b"\x20" + (1 << 36).to_bytes(8, "big"),
        None,
    ),
    (
        "masked input padding bit set",
        _header(M.MsgType.MASKED_INPUT, 1)
        + b"\0\0\0\1\1"
        + b"\x03"
        + (2).to_bytes(8, "big")
        + b"\x40",
        None,
    ),
    (
        "masked-set bitmap unused bit set",
        _header(M.MsgType.MASKED_INPUT, 1)
        + b"\0\0\0\3\x08"
        + b"\x08"
        + (1).to_bytes(8, "big")
        + b"\x00",
        None,
    ),
    (
        "masked input m differs from the config",
        _header(M.MsgType.MASKED_INPUT, 1)
        + b"\0\0\0\4\x0f"
        + b"\x08"
        + (3).to_bytes(8, "big")
        + bytes(3),
        Limits(5, 4, 8, 4, False),
    ),
    (
        "survivor bitmap over another n",
        _header(M.MsgType.UNMASK_REQUEST, 0) + b"\0\0\0\x06\x3f\x00",
        Limits(5, 4, 8, 4, False),
    ),
    (
        "unsigned unmask request in active mode",
        _header(M.MsgType.UNMASK_REQUEST, 0) + b"\0\0\0\x05\x1f\x00",
        Limits(5, 4, 8, 4, True),
    ),
    (
        "survivor signature in semi_honest mode",
        _header(M.MsgType.SURVIVOR_SIGNATURE, 1) + bytes(64),
        Limits(5, 4, 8, 4, False),
    ),
    (
        "flag byte 2",
        _header(M.MsgType.KEY_ADVERT, 1) + bytes(64) + b"\x02",
        None,
    ),
    (
        "abort reason not UTF-8",
        _header(M.MsgType.ABORT, 0) + b"\0\2\xc3\x28",
        None,
    ),
    (
        "abort reason longer than 1024 bytes",
        _header(M.MsgType.ABORT, 0) + (1025).to_bytes(2, "big") + b"a" * 1025,
        None,
    ),
    (
        "config with another label",
        _header(M.MsgType.CONFIG_REQUEST, 0) + b"secagg/v2/config" + bytes(63 + 32) + b"\0",
        None,
    ),
    (
        "message larger than the session allows",
        _header(M.MsgType.ABORT, 0) + b"\0\0" + bytes(5000),
        Limits(5, 4, 8, 4, False),
    ),
]


@pytest.mark.parametrize("what,data,lim", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_messages_are_malformed(what: str, data: bytes, lim: Limits | None) -> None:
    """Each hand-made violation of docs/wire-format.md raises MalformedMessageError."""
    with pytest.raises(MalformedMessageError):
        M.decode(data, lim)


@pytest.mark.parametrize("obj", [None, "SAGG", 42, [1, 2], bytearray(3)])
def test_non_bytes_input(obj: object) -> None:
    """Objects that are not byte strings raise MalformedMessageError, not TypeError."""
    with pytest.raises(MalformedMessageError):
        M.decode(obj)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(limits(), st.data())
def test_memoryview_and_bytearray_inputs(lim: Limits, data: st.DataObject) -> None:
    """bytearray and memoryview inputs decode to the same message as bytes."""
    raw = data.draw(valid_message(lim)).to_bytes()
    msg = M.decode(raw, lim)
    assert M.decode(bytearray(raw), lim) == msg
    assert M.decode(memoryview(raw), lim) == msg


# --------------------------------------------------------------------------
# the server under hostile input


_ROUNDS = ("R0", "R1", "R2", "R3", "R4")
# Ways to spoil a reply that the server can detect (a flipped bit inside a
# packed vector or a ciphertext is not among them: that is a client sending
# another input, or a neighbour's problem, not the server's).
_GARBAGE = ("random", "truncated", "extended", "other_session", "other_sender", "abort", "empty")


def _spoil(kind: str, data: bytes, u: int, n: int, noise: bytes) -> bytes:
    if kind == "random":
        return noise
    if kind == "truncated":
        return data[: max(0, len(data) - 1 - noise[0] % len(data))]
    if kind == "extended":
        return data + noise[: 1 + noise[0] % 8]
    if kind == "other_session":
        return data[:6] + hashlib.sha256(noise).digest() + data[38:]
    if kind == "other_sender":
        return data[:38] + ((u % n) + 1).to_bytes(4, "big") + data[42:]
    if kind == "abort":
        return M.AbortNotice(data[6:38], u, "client gives up").to_bytes()
    return b""


@st.composite
def hostile_schedules(draw: st.DrawFn):
    n = draw(st.integers(4, 8))
    k = n - 1 if draw(st.booleans()) or n < 6 else draw(st.sampled_from([2, 4][: (n - 2) // 2]))
    ts = [t for t in range(2, k + 2) if 2 * t > k]
    t = draw(st.sampled_from(ts))
    plan = {}
    for u in range(1, n + 1):
        what = draw(st.sampled_from(["none", "none", "garbage", "duplicate", "late"]))
        if what != "none":
            plan[u] = (
                what,
                draw(st.sampled_from(("R0", "R1", "R2", "R4"))),
                draw(st.sampled_from(_GARBAGE)),
            )
    strangers = draw(st.lists(st.sampled_from([0, -1, n + 1, 2**40, "1", None, 1.0]), max_size=3))
    seed = draw(st.binary(min_size=8, max_size=8))
    return n, k, t, plan, strangers, seed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_schedules())
def test_server_survives_hostile_input(case) -> None:
    """Garbage, duplicates, strangers and late replies: no crash, sender dropped, exact sum."""
    n, k, t, plan, strangers, seed = case
    rng = _det_rng(seed)
    cfg = Config(n=n, t=t, n_min=t, k=k, b=12, m=3)
    inputs = {u: np.array([u, 7 * u, 4095], dtype=cfg.dtype) for u in range(1, n + 1)}
    clients = {u: Client(cfg, u, inputs[u], rng=rng) for u in range(1, n + 1)}
    server = Server(cfg, nonce=rng(32), rng=rng)
    requests = server.start()
    late: list[tuple[int, bytes]] = []
    stop = {u: NEVER for u in range(1, n + 1)}
    for u, (what, rnd, _) in plan.items():
        if what != "duplicate" or rnd != "R2":  # a repeated masked input is discarded
            stop[u] = _ROUNDS.index(rnd)
    while server.state not in (State.COMPLETED, State.ABORTED):
        rnd = server.round
        for u, data in late:  # replies that missed their round
            server.receive(u, data)
            assert server.dropped.get(u) is not None
        late = []
        for u in sorted(requests):
            what, when, how = plan.get(u, ("none", "", ""))
            replies = clients[u].handle(requests[u])
            for data in replies:
                if when != rnd or what == "none":
                    server.receive(u, data)
                elif what == "garbage":
                    server.receive(u, _spoil(how, data, u, n, rng(40)))
                elif what == "duplicate":
                    server.receive(u, data)
                    server.receive(u, data)
                else:
                    late.append((u, data))
            for who in strangers:
                server.receive(who, replies[0] if replies else b"")  # type: ignore[arg-type]
        requests = server.close_round()
        for u, (what, when, _) in plan.items():
            if when == rnd and stop[u] == _ROUNDS.index(rnd):
                # Dropped now, or earlier when a neighbour's dropout left it short of t.
                got = server.dropped.get(u)
                assert got is not None and _ROUNDS.index(got) <= _ROUNDS.index(rnd), (
                    u,
                    what,
                    server.dropped,
                )
    for u, data in late:
        server.receive(u, data)
    graph = Graph.build(cfg, server.session_id)
    pred = predict(graph, t, cfg.n_min, False, stop)
    if pred.abort is None:
        assert server.result is not None, server.abort_reason
        assert server.result.survivors == pred.U3
        expected = sum(inputs[u].astype(np.int64) for u in pred.U3) % (1 << cfg.b)
        assert [int(v) for v in server.result.sum] == [int(v) for v in np.atleast_1d(expected)]
    else:
        assert server.result is None and server.state is State.ABORTED


def test_advert_forward_flag_without_entries_is_canonical() -> None:
    """An AdvertForward flagged signed with no entry is refused or re-encodes to the same bytes."""
    raw = bytearray(M.AdvertForward(SID, 0, ()).to_bytes())
    raw[M.HEADER_LEN] = 1
    try:
        msg = M.decode(bytes(raw))
    except MalformedMessageError:
        return
    assert msg.to_bytes() == bytes(raw)


def _real_config(lim: Limits) -> Config:
    """A valid secagg Config with the same n, k, b, m and mode as ``lim``."""
    if lim.active:
        t = lim.n // 2 + 1  # 2t > h = n
        return Config(
            n=lim.n,
            t=t,
            n_min=t,
            k=lim.k,
            b=lim.b,
            m=lim.m,
            mode="active",
            registry_digest=b"\1" * 32,
        )
    return Config(n=lim.n, t=lim.k // 2 + 1, n_min=lim.k // 2 + 1, k=lim.k, b=lim.b, m=lim.m)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_real_config_limits_match(data: st.DataObject) -> None:
    """Decoding under a real Config accepts and refuses exactly what the plain limits do."""
    lim = data.draw(
        limits().filter(lambda x: x.n >= 3 and x.k >= 2 and (x.k % 2 == 0 or x.k == x.n - 1))
    )
    cfg = _real_config(lim)
    raw = data.draw(valid_message(lim)).to_bytes()
    if data.draw(st.booleans()):
        bit = data.draw(st.integers(0, 8 * len(raw) - 1))
        raw = raw[: bit // 8] + bytes([raw[bit // 8] ^ (1 << (bit % 8))]) + raw[bit // 8 + 1 :]
    outcomes = []
    for limit in (lim, cfg):
        try:
            outcomes.append(M.decode(raw, limit))
        except MalformedMessageError:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]

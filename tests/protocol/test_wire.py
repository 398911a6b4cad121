"""The wire layer (secagg.protocol.wire, layout, lists, codec): laws over generated messages.

Every message type round-trips over generated contents; the encoder and the
decoder agree on arbitrary (also broken) field values; the session size
limit is exactly the largest valid message; bitmaps, the reader's checked
counts, the header and the typed limits keep their rules.
"""

from __future__ import annotations

import dataclasses
import struct
import tracemalloc
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg.exceptions import InvalidInputError, MalformedMessageError
from secagg.protocol import config as config_module
from secagg.protocol import messages as M
from secagg.protocol import wire
from secagg.protocol.config import Config
from secagg.protocol.vocabulary import Mode
from secagg.protocol.wire import Limits, Reader, Sender, Writer

P = (1 << 61) - 1
SID = bytes(range(32))
TYPES = sorted(M._BY_TYPE.values(), key=lambda c: c.TYPE)


# --------------------------------------------------------------------------
# strategies


@st.composite
def limits(draw: st.DrawFn, max_n: int = 24) -> Limits:
    n = draw(st.integers(2, max_n))
    return Limits(
        n=n,
        k=draw(st.integers(1, n - 1)),
        b=draw(st.integers(1, 64)),
        m=draw(st.integers(1, 40)),
        active=draw(st.booleans()),
    )


def _b(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


def _ids(
    draw: st.DrawFn, n: int, most: int, exclude: int = 0, fill: bool = False, least: int = 0
) -> list[int]:
    pool = [i for i in range(1, n + 1) if i != exclude]
    if fill:
        return pool[:most]
    top = min(most, len(pool))
    return sorted(draw(st.sets(st.sampled_from(pool), min_size=least, max_size=top)))


def _share(draw: st.DrawFn) -> bytes:
    vals = draw(st.lists(st.integers(0, P - 1), min_size=5, max_size=5))
    return b"".join(v.to_bytes(8, "little") for v in vals)


def _canonical(draw: st.DrawFn, lim: Limits) -> bytes:
    rest = draw(_b(12))  # t, c, n_min: any values, the decoder checks only the layout
    fields = struct.pack(">BII", 1, lim.n, int.from_bytes(rest[:4], "big"))
    fields += struct.pack(">I", lim.k) + rest[4:]
    return (
        b"secagg/v1/config" + fields + struct.pack(">BQB", lim.b, lim.m, int(lim.active))
    ) + draw(_b(32))


def build(draw: st.DrawFn, cls: type, lim: Limits, largest: bool = False) -> M.Message:
    """A valid message of type ``cls`` under ``lim`` (the largest one if ``largest``)."""
    sig = (lambda: draw(_b(64))) if lim.active else (lambda: None)
    client = lim.n if largest else draw(st.integers(1, lim.n))
    if cls is M.ConfigRequest:
        return cls(SID, 0, _canonical(draw, lim), draw(_b(32)), sig())
    if cls is M.KeyAdvert:
        return cls(SID, client, draw(_b(32)), draw(_b(32)), sig())
    if cls is M.AdvertForward:
        # An active forward carries at least the receiver's own advert.
        ids = _ids(draw, lim.n, lim.n, fill=largest, least=int(lim.active))
        return cls(SID, 0, tuple(M.Advert(i, draw(_b(32)), draw(_b(32)), sig()) for i in ids))
    if cls is M.EncryptedShares:
        ids = _ids(draw, lim.n, lim.k, exclude=client, fill=largest)
        cts = tuple(M.CiphertextOut(i, draw(_b(M.CIPHERTEXT_LEN))) for i in ids)
        return cls(SID, client, draw(_b(32)), cts)
    if cls is M.ShareForward:
        ids = _ids(draw, lim.n, lim.k, fill=largest)
        return cls(
            SID, 0, tuple(M.CiphertextIn(i, draw(_b(32)), draw(_b(M.CIPHERTEXT_LEN))) for i in ids)
        )
    if cls is M.MaskedInput:
        bitmap = M.encode_bitmap(draw(st.sets(st.integers(0, lim.k - 1))), lim.k)
        packed = draw(st.integers(0, (1 << (lim.m * lim.b)) - 1))
        return cls(
            SID,
            client,
            lim.k,
            bitmap,
            lim.b,
            lim.m,
            packed.to_bytes((lim.m * lim.b + 7) // 8, "little"),
        )
    if cls is M.SurvivorRequest:
        return cls(SID, 0, lim.n, tuple(_ids(draw, lim.n, lim.n, fill=largest)))
    if cls is M.SurvivorSignature:
        return cls(SID, client, draw(_b(64)))
    if cls is M.UnmaskRequest:
        sigs = None
        if lim.active:
            ids = _ids(draw, lim.n, lim.n, fill=largest)
            sigs = tuple(M.SignatureEntry(i, draw(_b(64))) for i in ids)
        return cls(SID, 0, lim.n, tuple(_ids(draw, lim.n, lim.n, fill=largest)), sigs)
    if cls is M.UnmaskResponse:
        ids = _ids(draw, lim.n, lim.n, fill=largest)
        return cls(
            SID,
            client,
            tuple(M.ShareEntry(i, draw(st.sampled_from([1, 2])), _share(draw)) for i in ids),
        )
    reason = "x" * M.MAX_REASON_BYTES if largest else draw(st.text(max_size=40))
    return cls(SID, draw(st.integers(0, lim.n)), reason)


def _fits(cls: type, lim: Limits) -> bool:
    """R3 messages exist only in active sessions."""
    return lim.active or cls not in (M.SurvivorRequest, M.SurvivorSignature)


# --------------------------------------------------------------------------
# messages


@pytest.mark.parametrize("cls", TYPES, ids=[c.__name__ for c in TYPES])
@settings(max_examples=40, deadline=None)
@given(lim=limits(), data=st.data())
def test_every_message_round_trips(cls: type, lim: Limits, data: st.DataObject) -> None:
    """decode(to_bytes(m)) == m with and without limits; the bytes re-encode identically."""
    if not _fits(cls, lim):
        lim = dataclasses.replace(lim, active=True)
    msg = build(data.draw, cls, lim)
    raw = msg.to_bytes()
    for limit in (None, lim):
        back = M.decode(raw, limit)
        assert back == msg and type(back) is cls
        assert back.to_bytes() == raw
        assert cls.from_bytes(raw, limit) == msg
    assert len(raw) <= M.max_message_size(lim)


@settings(max_examples=60, deadline=None)
@given(lim=limits(), data=st.data())
def test_size_limit_is_the_largest_valid_message(lim: Limits, data: st.DataObject) -> None:
    """max_message_size(limits) equals the longest valid message of any type, which decodes."""
    sizes = []
    for cls in TYPES:
        if _fits(cls, lim):
            raw = build(data.draw, cls, lim, largest=True).to_bytes()
            assert isinstance(M.decode(raw, lim), cls)
            sizes.append(len(raw))
    assert max(sizes) == M.max_message_size(lim)


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2**33),
    st.binary(max_size=120),
    st.binary(max_size=120).map(bytearray),
    st.binary(max_size=120).map(memoryview),
    st.text(max_size=5),
    st.lists(st.integers(-1, 2**32 + 1), max_size=4).map(tuple),
    st.lists(st.tuples(st.integers(-1, 2**32), _b(32), _b(32), st.none() | _b(64)), max_size=3).map(
        tuple
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(TYPES),
    lim=limits(),
    data=st.data(),
    sender=st.none() | st.integers(-1, 2**21),
)
def test_encoder_and_decoder_agree_on_any_field_values(
    cls: type, lim: Limits, data: st.DataObject, sender: int | None
) -> None:
    """Junk in a field: to_bytes raises InvalidInputError, or decode refuses or returns it."""
    msg: Any = build(data.draw, cls, dataclasses.replace(lim, active=True))
    names = [f.name for f in dataclasses.fields(msg)]
    name = data.draw(st.sampled_from(names))
    msg = dataclasses.replace(msg, **{name: data.draw(_JUNK)})
    if sender is not None:
        msg = dataclasses.replace(msg, sender=sender)
    try:
        raw = msg.to_bytes()
    except InvalidInputError:
        return
    for limit in (None, lim):
        try:
            back = M.decode(raw, limit)
        except MalformedMessageError:
            continue
        assert back == msg and back.to_bytes() == raw


def test_no_duck_typed_config() -> None:
    """Decoding takes Limits, a Config or None; an object that merely looks like one is refused."""
    raw = M.SurvivorSignature(SID, 1, bytes(64)).to_bytes()
    for fake in (
        SimpleNamespace(n=5, k=4, b=8, m=4, mode="active"),
        SimpleNamespace(n=5, k=4, b=8, m=4, mode=1),
        {"n": 5},
    ):
        with pytest.raises(InvalidInputError, match="Limits, a Config or None"):
            M.decode(raw, fake)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            M.max_message_size(fake)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        dict(n=5, k=4, b=8, m=4, active="active"),
        dict(n=5, k=4, b=8, m=4, active=1),
        dict(n=0, k=0, b=8, m=4),
        dict(n=5, k=5, b=8, m=4),
        dict(n=5, k=4, b=65, m=4),
        dict(n=5, k=4, b=33, m=2**33 + 1),
        dict(n=5.0, k=4, b=8, m=4),
        dict(n=M.MAX_N + 1, k=4, b=8, m=4),
    ],
)
def test_limits_refuse_wrong_types_and_ranges(fields: dict[str, Any]) -> None:
    """Limits are typed: a mode string or int, a float or an out-of-range field is refused."""
    with pytest.raises(InvalidInputError):
        Limits(**fields)


def test_limits_of_a_config() -> None:
    """Limits.of takes n, k, b, m and the mode from a Config; decoding with either agrees."""
    semi = Config(n=5, t=3, n_min=3, k=4, b=5, m=3)
    active = Config(
        n=5, t=4, n_min=4, k=4, b=16, m=5, c=1, mode=Mode.ACTIVE, registry_digest=b"\1" * 32
    )
    assert Limits.of(semi) == Limits(5, 4, 5, 3, False)
    assert Limits.of(active) == Limits(5, 4, 16, 5, True) and Limits.of(active).mode is Mode.ACTIVE
    assert M.max_message_size(active) == M.max_message_size(Limits.of(active))


def test_canonical_config_length_is_the_vocabulary_one() -> None:
    """The vocabulary's CONFIG_LEN is the length Config.canonical() produces."""
    assert M.CONFIG_LEN == config_module.CANONICAL_SIZE == 79
    assert len(Config(n=5, t=3, n_min=3, k=4, b=5, m=3).canonical()) == M.CONFIG_LEN


def test_masked_input_is_copied_once_when_encoded() -> None:
    """Encoding a masked input allocates one copy of the packed vector (the message), no more."""
    m, b = 250_000, 32
    packed = bytes(range(256)) * (m * b // 8 // 256) + bytes(m * b // 8 % 256)
    msg = M.MaskedInput(SID, 1, 4, b"\x05", b, m, packed)
    msg.to_bytes()  # warm up
    tracemalloc.start()
    try:
        raw = msg.to_bytes()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raw.endswith(packed)
    assert peak < len(packed) + 64 * 1024, peak


def test_decoded_masked_input_views_its_source() -> None:
    """A MaskedInput decoded from bytes holds a read-only view of them, not a copy."""
    m, b = 1000, 16
    raw = M.MaskedInput(SID, 1, 4, b"\x05", b, m, bytes(range(250)) * 8).to_bytes()
    msg = M.decode(raw)
    assert isinstance(msg, M.MaskedInput)
    assert isinstance(msg.packed, memoryview) and msg.packed.obj is raw and msg.packed.readonly


# --------------------------------------------------------------------------
# bitmaps (PROTOCOL.md notation: LSB first, unused bits zero)


def test_bitmap_lsb_first() -> None:
    """Entry j of the list is bit j mod 8 of byte j // 8, least significant first."""
    assert wire.encode_bitmap([0, 8], 10) == b"\x01\x01"
    assert wire.encode_bitmap([7, 9], 10) == b"\x80\x02"
    assert wire.encode_bitmap([], 0) == b""
    assert wire.encode_bitmap([2], 3) == b"\x04"
    assert wire.decode_bitmap(b"\x80\x02", 10) == [7, 9]


@given(size=st.integers(0, 70), data=st.data())
def test_bitmap_round_trip_and_length(size: int, data: st.DataObject) -> None:
    """decode(encode(S, L), L) == sorted(S), in ceil(L/8) bytes, whatever order S comes in."""
    chosen = data.draw(st.lists(st.integers(0, size - 1), unique=True)) if size else []
    enc = wire.encode_bitmap(chosen, size)
    assert len(enc) == (size + 7) // 8
    assert wire.decode_bitmap(enc, size) == sorted(chosen)
    assert wire.encode_bitmap(wire.decode_bitmap(enc, size), size) == enc


@given(size=st.integers(1, 70), raw=st.binary(max_size=10))
def test_bitmap_decode_is_strict(size: int, raw: bytes) -> None:
    """Bytes decode only at the exact length with zero unused bits, and re-encode to themselves."""
    try:
        got = wire.decode_bitmap(raw, size)
    except MalformedMessageError:
        exact = len(raw) == (size + 7) // 8
        assert not exact or raw[-1] >> (size % 8 or 8)
        return
    assert wire.encode_bitmap(got, size) == raw


def test_bitmap_malformed() -> None:
    """Bad length, unused bits or type: MalformedMessageError; bad position: InvalidInputError."""
    with pytest.raises(MalformedMessageError, match="unused bits"):
        wire.decode_bitmap(b"\x08", 3)
    with pytest.raises(MalformedMessageError, match="needs 1 bytes"):
        wire.decode_bitmap(b"\x01\x00", 3)
    with pytest.raises(MalformedMessageError, match="must be bytes"):
        wire.decode_bitmap("x", 3)  # type: ignore[arg-type]
    assert wire.decode_bitmap(b"\x07", 3) == [0, 1, 2]
    assert wire.decode_bitmap(b"\xff", 8) == list(range(8))
    for bad in (3, -1, 1.0):
        with pytest.raises(InvalidInputError, match="outside"):
            wire.encode_bitmap([bad], 3)  # type: ignore[list-item]


# --------------------------------------------------------------------------
# reader, writer, header


@given(
    body=st.binary(max_size=64),
    count=st.integers(0, 2**32 - 1),
    limit=st.integers(0, 100),
    entry_len=st.integers(1, 16),
)
def test_checked_count(body: bytes, count: int, limit: int, entry_len: int) -> None:
    """A count is accepted only within its limit and with all its entries' bytes present."""
    r = Reader(struct.pack(">I", count) + body, 0, "Test")
    try:
        got = r.count("thing", limit, entry_len)
    except MalformedMessageError as exc:
        assert count > limit or count * entry_len > len(body)
        assert ("exceeds the limit" in str(exc)) == (count > limit)
        return
    assert got == count <= limit and count * entry_len <= len(body) and r.pos == 4


@given(ids=st.lists(st.integers(0, 2**32 - 1), max_size=6), limit=st.integers(1, 2**32 - 1))
def test_ids_strictly_increasing_within_limit(ids: list[int], limit: int) -> None:
    """next_id accepts a list exactly when it is strictly increasing within 1..limit."""
    r = Reader(b"".join(struct.pack(">I", i) for i in ids), 0, "Test")
    ok = all(1 <= i <= limit for i in ids) and all(
        a < b for a, b in zip(ids, ids[1:], strict=False)
    )
    try:
        prev = 0
        for _ in ids:
            prev = r.next_id(prev, limit, "id")
    except MalformedMessageError:
        assert not ok
        return
    assert ok
    r.end()


def test_reader_refusals_and_views() -> None:
    """Flags are 0/1, reads past the end and trailing bytes are refused; views only of bytes."""
    with pytest.raises(MalformedMessageError, match="must be 0 or 1"):
        Reader(b"\x02", 0, "T").flag("f")
    with pytest.raises(MalformedMessageError, match="truncated"):
        Reader(b"\x00" * 3, 0, "T").uint(4, "x")
    with pytest.raises(MalformedMessageError, match="trailing"):
        Reader(b"\x00", 0, "T").end()
    data = b"abcdef"
    view = Reader(data, 2, "T").view(3, "v")
    assert isinstance(view, memoryview) and view.obj is data and bytes(view) == b"cde"
    copy = Reader(memoryview(bytearray(data)), 2, "T").view(3, "v")
    assert type(copy) is bytes and copy == b"cde"


def test_writer() -> None:
    """The writer packs big-endian, refuses what does not fit, and joins its parts once."""
    w = Writer()
    w.uint(2, 258, "x")
    big = b"y" * 1000
    w.raw(big)
    assert w.parts[-1] is big and w.getvalue() == b"\x01\x02" + big
    for width, value in ((1, 256), (4, -1), (8, 1 << 64), (2, True), (2, 1.0)):
        with pytest.raises(InvalidInputError, match="does not fit"):
            Writer().uint(width, value, "x")  # type: ignore[arg-type]


@given(mtype=st.integers(0, 255), sender=st.integers(0, M.MAX_N), sid=_b(32))
def test_header_round_trip(mtype: int, sender: int, sid: bytes) -> None:
    """peek_header reads back what pack_header wrote, in 42 bytes."""
    raw = wire.pack_header(mtype, sid, sender, Sender.EITHER, "T")
    assert len(raw) == wire.HEADER_LEN == 42 and raw[:5] == b"SAGG\x01"
    assert wire.peek_header(raw) == (mtype, sid, sender)


@pytest.mark.parametrize(
    "who,sender,ok",
    [
        (Sender.SERVER, 0, True),
        (Sender.SERVER, 1, False),
        (Sender.CLIENT, 0, False),
        (Sender.CLIENT, M.MAX_N, True),
        (Sender.CLIENT, M.MAX_N + 1, False),
        (Sender.EITHER, 0, True),
        (Sender.EITHER, -1, False),
    ],
)
def test_sender_rules(who: Sender, sender: int, ok: bool) -> None:
    """Server messages come from id 0, client messages from 1..MAX_N, notices from either."""
    if ok:
        wire.pack_header(1, SID, sender, who, "T")
    else:
        with pytest.raises(InvalidInputError):
            wire.pack_header(1, SID, sender, who, "T")


@given(size=st.integers(1, 70), data=st.data())
def test_id_bitmap_is_the_sequence_of_its_ids(size: int, data: st.DataObject) -> None:
    """A decoded survivor list answers membership, length, order and equality like
    the tuple of its ids, and re-encodes to the bytes it came from."""
    chosen = sorted(data.draw(st.lists(st.integers(1, size), unique=True)))
    raw = wire.encode_bitmap([u - 1 for u in chosen], size)
    ids = wire.IdBitmap(raw, size)
    assert len(ids) == len(chosen)
    assert tuple(ids) == tuple(chosen) and list(ids) == chosen
    assert ids == tuple(chosen) and ids == chosen and tuple(chosen) == ids
    assert ids == wire.IdBitmap(raw, size) and hash(ids) == hash(tuple(chosen))
    assert ids.bitmap == raw
    for u in range(-1, size + 3):
        assert (u in ids) == (u in chosen)
    assert "x" not in ids and True not in ids or 1 in chosen
    if chosen:
        assert ids[0] == chosen[0] and ids[-1] == chosen[-1]
        assert ids != tuple(chosen[:-1])


def test_survivor_lists_decode_to_bitmaps_that_re_encode_without_a_loop() -> None:
    """The R4 request's U3 decodes to an IdBitmap and encodes back to the same bytes."""
    cfg = Config(n=20, t=3, n_min=3, k=4, b=8, m=3)
    msg = M.UnmaskRequest(SID, 0, 20, (1, 2, 5, 19, 20))
    data = msg.to_bytes()
    back = M.decode(data, cfg)
    assert isinstance(back.survivors, wire.IdBitmap)
    assert back == msg and back.to_bytes() == data
    assert 19 in back.survivors and 3 not in back.survivors and len(back.survivors) == 5

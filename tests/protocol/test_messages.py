"""Wire format (docs/wire-format.md): vectors, round trips and every decoder refusal."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg import packing, shamir
from secagg.exceptions import InvalidInputError, MalformedMessageError
from secagg.protocol import messages as M
from secagg.protocol.config import Config
from secagg.protocol.vocabulary import Mode

DATA = Path(__file__).parents[1] / "data"
VECTORS = json.loads((DATA / "wire_vectors.json").read_text())["vectors"]
SID = bytes(range(32))
P = shamir.P

CLASSES = {
    0x01: M.ConfigRequest,
    0x02: M.KeyAdvert,
    0x03: M.AdvertForward,
    0x04: M.EncryptedShares,
    0x05: M.ShareForward,
    0x06: M.MaskedInput,
    0x07: M.SurvivorRequest,
    0x08: M.SurvivorSignature,
    0x09: M.UnmaskRequest,
    0x0A: M.UnmaskResponse,
    0x0F: M.AbortNotice,
}


def _h(x: str | None) -> bytes | None:
    return None if x is None else bytes.fromhex(x)


def _from_fields(vec: dict) -> M.Message:
    """Build the message of a vector from its listed fields (not from the hex)."""
    f = vec["fields"]
    sid, sender = bytes.fromhex(vec["session_id"]), vec["sender"]
    cls = CLASSES[vec["type"]]
    if cls is M.ConfigRequest:
        return cls(sid, sender, _h(f["config"]), _h(f["nonce"]), _h(f["signature"]))
    if cls is M.KeyAdvert:
        return cls(sid, sender, _h(f["c_pk"]), _h(f["s_pk"]), _h(f["signature"]))
    if cls is M.AdvertForward:
        return cls(
            sid,
            sender,
            tuple(
                M.Advert(a["id"], _h(a["c_pk"]), _h(a["s_pk"]), _h(a["signature"]))
                for a in f["adverts"]
            ),
        )
    if cls is M.EncryptedShares:
        return cls(
            sid,
            sender,
            _h(f["commitment"]),
            tuple(M.CiphertextOut(c["receiver"], _h(c["ciphertext"])) for c in f["ciphertexts"]),
        )
    if cls is M.ShareForward:
        return cls(
            sid,
            sender,
            tuple(
                M.CiphertextIn(c["sender"], _h(c["commitment"]), _h(c["ciphertext"]))
                for c in f["ciphertexts"]
            ),
        )
    if cls is M.MaskedInput:
        return cls(
            sid, sender, f["num_neighbours"], _h(f["mask_bitmap"]), f["b"], f["m"], _h(f["packed"])
        )
    if cls is M.SurvivorRequest:
        return cls(sid, sender, f["n"], tuple(f["survivors"]))
    if cls is M.SurvivorSignature:
        return cls(sid, sender, _h(f["signature"]))
    if cls is M.UnmaskRequest:
        sigs = f["signatures"]
        return cls(
            sid,
            sender,
            f["n"],
            tuple(f["survivors"]),
            None
            if sigs is None
            else tuple(M.SignatureEntry(s["id"], _h(s["signature"])) for s in sigs),
        )
    if cls is M.UnmaskResponse:
        return cls(
            sid,
            sender,
            tuple(M.ShareEntry(s["id"], s["kind"], _h(s["share"])) for s in f["shares"]),
        )
    return cls(sid, sender, f["reason"])


def test_vectors_cover_every_message_type():
    """The pinned vectors include at least one message of every type."""
    assert {v["type"] for v in VECTORS} == set(CLASSES)


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_encodes_exactly(vec):
    """Encoding a vector's fields gives exactly its pinned bytes."""
    assert _from_fields(vec).to_bytes().hex() == vec["hex"]


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_decodes_to_its_fields(vec):
    """Decoding a vector's bytes gives back exactly its fields (and its class)."""
    msg = M.decode(bytes.fromhex(vec["hex"]))
    assert msg == _from_fields(vec)
    assert type(msg).from_bytes(bytes.fromhex(vec["hex"])) == msg


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_every_truncation_is_refused(vec):
    """Every proper prefix of a valid message is refused as malformed."""
    data = bytes.fromhex(vec["hex"])
    for cut in range(len(data)):
        with pytest.raises(MalformedMessageError):
            M.decode(data[:cut])


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_trailing_bytes_are_refused(vec):
    """A valid message followed by any extra byte is refused."""
    with pytest.raises(MalformedMessageError, match="trailing"):
        M.decode(bytes.fromhex(vec["hex"]) + b"\x00")


def test_vectors_match_the_wire_doc():
    """Every vector's hex appears verbatim in docs/wire-format.md."""
    doc = (Path(__file__).parents[2] / "docs" / "wire-format.md").read_text()
    flat = "".join(doc.split())
    for vec in VECTORS:
        assert vec["hex"] in flat, vec["name"]


def _vec(name: str) -> bytes:
    return bytes.fromhex(next(v["hex"] for v in VECTORS if v["name"] == name))


def _patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


H = M.HEADER_LEN


@pytest.mark.parametrize(
    "name,offset,new,match",
    [
        ("key_advert", 0, b"SAGH", "magic"),
        ("key_advert", 4, b"\x02", "version"),
        ("key_advert", 5, b"\x0e", "unknown message type"),
        ("key_advert", 38, b"\x00\x00\x00\x00", "sender"),
        ("advert_forward", 38, b"\x00\x00\x00\x05", "server"),
        ("key_advert", H + 64, b"\x02", "flag"),
        ("config_request", H, b"X", "label"),
        ("config_request", H + 46, b"\x02", "mode byte"),
        ("config_request", H + 79 + 32, b"\x01", "signature"),
        ("advert_forward", H + 1, b"\x00\x00\x00\x03", "truncated"),
        ("advert_forward", H + 5, b"\x00\x00\x00\x05", "increasing"),
        ("advert_forward", H + 5, b"\x00\x00\x00\x00", "outside"),
        ("encrypted_shares", H + 36, b"\x00\x00\x00\x02", "itself"),
        ("encrypted_shares", H + 32, b"\xff\xff\xff\xff", "exceeds"),
        ("share_forward", H + 4, b"\x00\x00\x00\x03", "increasing"),
        ("masked_input", H + 4, b"\x1b", "unused bits"),
        ("masked_input", H + 5, b"\x00", "bit width"),
        ("masked_input", H + 5, b"\x41", "bit width"),
        ("masked_input", H + 6, b"\x00" * 8, "vector length"),
        ("masked_input", H + 14 + 1, b"\x80", "padding"),
        ("masked_input", H, b"\x00\x20\x00\x00", "neighbours"),
        ("survivor_request", H, b"\x00\x00\x00\x00", "bitmap_n"),
        ("survivor_request", H + 4, b"\x3b", "unused bits"),
        ("unmask_request", H + 5, b"\x02", "flag"),
        ("unmask_request_active", H + 6, b"\x00\x00\x00\x09", "exceeds"),
        ("unmask_response", H + 8, b"\x03", "kind"),
        ("unmask_response", H + 9, b"\xff" * 8, "not below p"),
        ("unmask_response", H + 4, b"\x00\x10\x00\x01", "outside"),
        ("abort_from_server", H, b"\x04\x01", "exceeds"),
        ("abort_from_server", H + 2, b"\xff", "UTF-8"),
    ],
)
def test_decoder_refusals(name, offset, new, match):
    """Each malformed variant of a valid message raises MalformedMessageError naming the problem."""
    with pytest.raises(MalformedMessageError, match=match):
        M.decode(_patch(_vec(name), offset, new))


def test_signed_flag_on_empty_advert_list_is_refused():
    """A signed-flagged but empty advert list is refused (its decoding would not be canonical)."""
    raw = bytearray(M.AdvertForward(SID, 0, ()).to_bytes())
    raw[H] = 1
    with pytest.raises(MalformedMessageError, match="empty"):
        M.decode(bytes(raw))


def test_share_value_equal_to_p_is_refused():
    """A share value of exactly p (not only above) is malformed."""
    data = _patch(_vec("unmask_response"), H + 9, P.to_bytes(8, "little"))
    with pytest.raises(MalformedMessageError, match="not below p"):
        M.decode(data)
    ok = _patch(_vec("unmask_response"), H + 9, (P - 1).to_bytes(8, "little"))
    assert M.decode(ok).shares[0].share[:8] == (P - 1).to_bytes(8, "little")


def test_non_bytes_input_is_refused():
    """Decoding something that is not bytes raises MalformedMessageError, not TypeError."""
    with pytest.raises(MalformedMessageError):
        M.decode("SAGG")  # type: ignore[arg-type]


def test_from_bytes_refuses_another_type():
    """Cls.from_bytes refuses a valid message of another type."""
    with pytest.raises(MalformedMessageError, match="expected a KeyAdvert"):
        M.KeyAdvert.from_bytes(_vec("masked_input"))


SEMI = Config(n=5, t=3, n_min=3, k=4, b=5, m=3)
ACTIVE = Config(
    n=5, t=4, n_min=4, k=4, b=16, m=5, c=1, mode=Mode.ACTIVE, registry_digest=b"\x01" * 32
)


def test_config_limits_accept_matching_messages():
    """With a matching config, the vectors of that config's shape decode."""
    assert isinstance(M.decode(_vec("masked_input"), SEMI), M.MaskedInput)
    assert isinstance(M.decode(_vec("survivor_request"), SEMI), M.SurvivorRequest)
    assert isinstance(M.decode(_vec("unmask_request_active"), ACTIVE), M.UnmaskRequest)


@pytest.mark.parametrize(
    "name,config,match",
    [
        ("masked_input", Config(n=5, t=3, n_min=3, k=4, b=6, m=3), "the session has"),
        ("masked_input", Config(n=7, t=4, n_min=4, k=6, b=5, m=3), "neighbours"),
        ("survivor_request", Config(n=6, t=3, n_min=3, k=4, b=5, m=3), "bitmap_n"),
        ("unmask_request", ACTIVE, "signatures are absent"),
        ("unmask_request_active", SEMI, "signatures are present"),
        ("key_advert", ACTIVE, "signatures are absent"),
        ("advert_forward_active", SEMI, "signatures are present"),
        ("survivor_signature", SEMI, "only in active"),
    ],
)
def test_config_limits_refuse_mismatches(name, config, match):
    """With a config, b/m/k/n and signature presence must match it exactly."""
    with pytest.raises(MalformedMessageError, match=match):
        M.decode(_vec(name), config)


def test_ids_beyond_config_n_are_refused():
    """With a config, ids above n are refused even though they fit MAX_N."""
    small = Config(n=3, t=2, n_min=2, k=2, b=5, m=3)
    with pytest.raises(MalformedMessageError, match="outside 1..3"):
        M.decode(_vec("advert_forward"), small)  # carries id 4
    advert = M.KeyAdvert(SID, 4, b"a" * 32, b"b" * 32).to_bytes()
    with pytest.raises(MalformedMessageError, match="outside 1..3"):
        M.decode(advert, small)


def test_size_limit_is_checked_before_parsing():
    """A message larger than max_message_size(config) is refused up front."""
    limit = M.max_message_size(SEMI)
    data = _vec("abort_from_server") + b"\x00" * limit
    with pytest.raises(MalformedMessageError, match="exceeds the session's limit"):
        M.decode(data, SEMI)


def test_max_message_size_covers_the_masked_input():
    """max_message_size is at least the size of a full masked input."""
    cfg = Config(n=5, t=3, n_min=3, k=4, b=64, m=1000)
    msg = M.MaskedInput(SID, 1, 4, b"\x0f", 64, 1000, bytes(8000))
    assert len(msg.to_bytes()) <= M.max_message_size(cfg)
    assert isinstance(M.decode(msg.to_bytes(), cfg), M.MaskedInput)


def test_hostile_count_costs_nothing():
    """A count of 2^32 - 1 with no entries is refused without reading entries."""
    data = M.HEADER_LEN * b"\x00"
    hdr = b"SAGG" + bytes([1, M.MsgType.UNMASK_RESPONSE]) + SID + struct.pack(">I", 1)
    with pytest.raises(MalformedMessageError, match="exceeds the limit"):
        M.decode(hdr + b"\xff\xff\xff\xff")
    assert len(data) == M.HEADER_LEN


@pytest.mark.parametrize(
    "make",
    [
        lambda: M.KeyAdvert(SID, 0, b"a" * 32, b"b" * 32),
        lambda: M.AdvertForward(SID, 3, ()),
        lambda: M.KeyAdvert(SID, 1, b"a" * 31, b"b" * 32),
        lambda: M.SurvivorRequest(SID, 0, 5, (3, 2)),
        lambda: M.SurvivorRequest(SID, 0, 5, (6,)),
        lambda: M.UnmaskResponse(SID, 1, (M.ShareEntry(1, 3, bytes(40)),)),
        lambda: M.MaskedInput(SID, 1, 4, b"\x0f", 8, 3, bytes(2)),
        lambda: M.ConfigRequest(SID, 0, SEMI.canonical(), bytes(32), b"s" * 64),
        lambda: M.AdvertForward(
            SID,
            0,
            (M.Advert(1, bytes(32), bytes(32), b"s" * 64), M.Advert(2, bytes(32), bytes(32))),
        ),
    ],
)
def test_encoder_refuses_unencodable_fields(make):
    """to_bytes raises InvalidInputError for fields the format cannot carry."""
    with pytest.raises(InvalidInputError):
        make().to_bytes()


def test_long_abort_reason_is_truncated_on_a_character_boundary():
    """An over-long reason is cut to at most 1024 bytes of valid UTF-8."""
    msg = M.AbortNotice(SID, 0, "é" * 1000).to_bytes()
    back = M.decode(msg)
    assert isinstance(back, M.AbortNotice)
    assert len(back.reason.encode()) <= M.MAX_REASON_BYTES
    assert set(back.reason) == {"é"}


ids_st = st.lists(st.integers(1, 300), unique=True, max_size=12).map(sorted)
bytes_st = st.binary


@given(
    kind=st.sampled_from(["adverts", "shares", "masked", "unmask", "response"]),
    ids=ids_st,
    data=st.data(),
)
def test_round_trip(kind, ids, data):
    """decode(to_bytes(msg)) == msg for arbitrary valid field values."""
    sender = data.draw(st.integers(1, 300))
    if kind == "adverts":
        signed = data.draw(st.booleans())
        msg = M.AdvertForward(
            SID,
            0,
            tuple(
                M.Advert(
                    i,
                    data.draw(bytes_st(min_size=32, max_size=32)),
                    data.draw(bytes_st(min_size=32, max_size=32)),
                    data.draw(bytes_st(min_size=64, max_size=64)) if signed else None,
                )
                for i in ids
            ),
        )
    elif kind == "shares":
        ids = [i for i in ids if i != sender]
        msg = M.EncryptedShares(
            SID,
            sender,
            data.draw(bytes_st(min_size=32, max_size=32)),
            tuple(M.CiphertextOut(i, data.draw(bytes_st(min_size=108, max_size=108))) for i in ids),
        )
    elif kind == "masked":
        k = data.draw(st.integers(0, 40))
        b = data.draw(st.integers(1, 64))
        m = data.draw(st.integers(1, 50))
        words = data.draw(st.lists(st.integers(0, 2**b - 1), min_size=m, max_size=m))
        acc = 0
        for j, w in enumerate(words):
            acc |= w << (b * j)
        pos = data.draw(st.lists(st.integers(0, max(k - 1, 0)), unique=True)) if k else []
        msg = M.MaskedInput(
            SID, sender, k, M.encode_bitmap(pos, k), b, m, acc.to_bytes((m * b + 7) // 8, "little")
        )
        assert sorted(pos) == msg.masking_positions()
    elif kind == "unmask":
        n = 300
        sigs = data.draw(st.none() | st.just(1))
        msg = M.UnmaskRequest(
            SID,
            0,
            n,
            tuple(ids),
            None
            if sigs is None
            else tuple(
                M.SignatureEntry(i, data.draw(bytes_st(min_size=64, max_size=64))) for i in ids
            ),
        )
    else:
        msg = M.UnmaskResponse(
            SID,
            sender,
            tuple(
                M.ShareEntry(
                    i,
                    data.draw(st.sampled_from([1, 2])),
                    b"".join(
                        data.draw(st.integers(0, P - 1)).to_bytes(8, "little") for _ in range(5)
                    ),
                )
                for i in ids
            ),
        )
    assert M.decode(msg.to_bytes()) == msg


@given(st.binary(max_size=300))
def test_random_bytes_only_raise_malformed(data):
    """Arbitrary bytes either decode or raise MalformedMessageError, nothing else."""
    try:
        M.decode(data)
    except MalformedMessageError:
        pass


@given(st.sampled_from(VECTORS), st.data())
def test_mutated_vectors_only_raise_malformed(vec, data):
    """Flipped bytes raise only MalformedMessageError, or decode to a canonical message."""
    raw = bytearray(bytes.fromhex(vec["hex"]))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    for config in (None, SEMI, ACTIVE):
        try:
            msg = M.decode(bytes(raw), config)
        except MalformedMessageError:
            continue
        # Whatever decodes is canonical: it re-encodes to exactly the same bytes.
        assert msg.to_bytes() == bytes(raw)


def test_masked_input_vector_is_a_view_of_immutable_data():
    """A MaskedInput's vector is a view of bytes it was decoded from, a copy of a bytearray."""
    m, b, k = 1000, 13, 4
    packed = bytes(i % 251 for i in range((m * b + 7) // 8))  # m * b is a multiple of 8
    data = M.MaskedInput(SID, 3, k, M.encode_bitmap([0, 2], k), b, m, packed).to_bytes()
    view = M.decode(data)
    assert isinstance(view, M.MaskedInput)
    assert isinstance(view.packed, memoryview) and view.packed.readonly
    assert view.packed.obj is data and view.packed == packed
    mutable = bytearray(data)
    copy = M.decode(mutable)
    assert isinstance(copy, M.MaskedInput) and type(copy.packed) is bytes
    mutable[-1] ^= 1  # the decoded message does not change with its source
    assert copy.packed == packed
    assert view == copy and view.to_bytes() == copy.to_bytes() == data
    np.testing.assert_array_equal(packing.unpack(view.packed, m, b), packing.unpack(packed, m, b))


def _bitmap_positions_reference(data: bytes, size: int) -> list[int]:
    """Entry j is bit j % 8 of byte j // 8, read one bit at a time."""
    return [j for j in range(size) if (data[j >> 3] >> (j & 7)) & 1]


@given(st.integers(0, 1100), st.data())
def test_bitmap_decode_matches_bitwise_reference(size, data):
    """decode_bitmap lists exactly the set entries, in order, from any bytes-like input."""
    raw = bytearray(data.draw(st.binary(min_size=(size + 7) // 8, max_size=(size + 7) // 8)))
    if size % 8:
        raw[-1] &= (1 << (size % 8)) - 1
    want = _bitmap_positions_reference(bytes(raw), size)
    for form in (bytes(raw), raw, memoryview(bytes(raw))):
        got = M.decode_bitmap(form, size)
        assert got == want and all(type(j) is int for j in got)
    if size % 8:
        raw[-1] |= 1 << (size % 8)
        with pytest.raises(MalformedMessageError, match="unused bits"):
            M.decode_bitmap(bytes(raw), size)
    with pytest.raises(MalformedMessageError, match="needs"):
        M.decode_bitmap(bytes(raw) + b"\x00", size)


@given(st.integers(0, 70), st.data())
def test_bitmap_round_trip(size, data):
    """decode_bitmap(encode_bitmap(S)) == sorted(S); unused bits set are refused."""
    pos = data.draw(st.lists(st.integers(0, max(size - 1, 0)), unique=True)) if size else []
    raw = M.encode_bitmap(pos, size)
    assert M.decode_bitmap(raw, size) == sorted(pos)
    if size % 8:
        bad = raw[:-1] + bytes([raw[-1] | 0x80])
        with pytest.raises(MalformedMessageError):
            M.decode_bitmap(bad, size)

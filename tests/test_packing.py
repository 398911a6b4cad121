"""Tests for secagg.packing: b-bit little-endian packing and the streaming unpack-and-add."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secagg import masking, packing
from secagg.exceptions import InvalidInputError, MalformedMessageError


def ref_pack(values: list[int], b: int) -> bytes:
    """Reference: element i at bits i*b.. of one little-endian integer."""
    n = sum(v << (b * i) for i, v in enumerate(values))
    return n.to_bytes((len(values) * b + 7) // 8, "little")


def vec(values: list[int], b: int) -> np.ndarray:
    """A Z_2^b vector from Python ints."""
    return np.array(values, dtype=masking.dtype_for_bits(b))


@st.composite
def vectors(draw, min_size=0, max_size=200):
    """(b, values) with every value < 2^b."""
    b = draw(st.integers(1, 64))
    values = draw(st.lists(st.integers(0, (1 << b) - 1), min_size=min_size, max_size=max_size))
    return b, values


@given(vectors())
def test_pack_matches_reference_and_round_trips(bv):
    """pack equals the integer reference for every b, and unpack inverts it."""
    b, values = bv
    v = vec(values, b)
    data = packing.pack(v, b)
    assert data == ref_pack(values, b)
    assert len(data) == packing.packed_size(len(values), b)
    out = packing.unpack(data, len(values), b)
    assert out.dtype == masking.dtype_for_bits(b)
    np.testing.assert_array_equal(out, v)


@pytest.mark.parametrize("b", range(1, 65))
def test_every_bit_width_round_trips_extremes(b):
    """All-ones, zeros and alternating values round-trip for each b at several lengths."""
    top = (1 << b) - 1
    for m in (1, 7, 8, 9, 63, 64, 65, 1000):
        values = [(top if i % 3 == 0 else (i * 0x9E3779B97F4A7C15) & top) for i in range(m)]
        data = packing.pack(vec(values, b), b)
        assert data == ref_pack(values, b)
        np.testing.assert_array_equal(packing.unpack(data, m, b), vec(values, b))


@pytest.mark.parametrize(
    "m,b,size",
    [
        (0, 5, 0),
        (1, 1, 1),
        (8, 1, 1),
        (9, 1, 2),
        (3, 3, 2),
        (10, 64, 80),
        (5, 13, 9),
        (1000, 20, 2500),
    ],
)
def test_packed_size(m, b, size):
    """packed_size is ceil(m*b/8)."""
    assert packing.packed_size(m, b) == size


def test_known_bytes():
    """A hand-computed example: [1, 2, 3] at 3 bits is 0b011_010_001 -> d1 00."""
    assert packing.pack(vec([1, 2, 3], 3), 3) == bytes([0xD1, 0x00])
    assert packing.pack(vec([0xABCD], 16), 16) == bytes([0xCD, 0xAB])


@given(vectors(min_size=1))
def test_nonzero_padding_is_malformed(bv):
    """Setting any padding bit of the last byte makes unpack and unpack_add refuse."""
    b, values = bv
    m = len(values)
    used = (m * b) % 8
    if used == 0:
        return
    data = bytearray(packing.pack(vec(values, b), b))
    for bit in range(used, 8):
        bad = bytearray(data)
        bad[-1] |= 1 << bit
        with pytest.raises(MalformedMessageError, match="padding"):
            packing.unpack(bytes(bad), m, b)
        acc = vec(values, b)
        before = acc.copy()
        with pytest.raises(MalformedMessageError, match="padding"):
            packing.unpack_add(acc, bytes(bad), b)
        np.testing.assert_array_equal(acc, before)


@pytest.mark.parametrize("delta", [-1, 1, -5, 100])
def test_wrong_length_is_malformed(delta):
    """A message one byte short or long (or more) is refused; acc stays untouched."""
    m, b = 20, 12
    data = packing.pack(np.arange(m, dtype=np.uint32), b)
    bad = data[:delta] if delta < 0 else data + bytes(delta)
    with pytest.raises(MalformedMessageError, match=f"{len(data)} bytes, got {len(bad)}"):
        packing.unpack(bad, m, b)
    acc = np.arange(m, dtype=np.uint32)
    with pytest.raises(MalformedMessageError):
        packing.unpack_add(acc, bad, b)
    np.testing.assert_array_equal(acc, np.arange(m, dtype=np.uint32))


@given(vectors(), st.integers(0, 2**32 - 1))
def test_unpack_add_equals_unpack_then_add(bv, seed):
    """unpack_add(acc, data) == add_into(acc, unpack(data)) for every b."""
    b, values = bv
    rng = np.random.default_rng(seed)
    dt = masking.dtype_for_bits(b)
    raw = rng.integers(0, 2**64, size=len(values), dtype=np.uint64)
    acc = (raw & np.uint64((1 << b) - 1) if b < 64 else raw).astype(dt)
    data = packing.pack(vec(values, b), b)
    expected = acc.copy()
    masking.add_into(expected, packing.unpack(data, len(values), b), b)
    packing.unpack_add(acc, data, b)
    np.testing.assert_array_equal(acc, expected)


def test_unpack_add_accepts_bytearray_and_memoryview():
    """Any bytes-like message works."""
    data = packing.pack(np.arange(10, dtype=np.uint32), 4)
    for d in (bytearray(data), memoryview(data)):
        acc = np.zeros(10, dtype=np.uint32)
        packing.unpack_add(acc, d, 4)
        np.testing.assert_array_equal(acc, np.arange(10, dtype=np.uint32))


def test_memoryview_of_wider_items_counts_bytes():
    """A memoryview over uint32 items is read as its bytes; a strided one is refused."""
    data = packing.pack(np.arange(8, dtype=np.uint32), 16)
    words = np.frombuffer(data, dtype=np.uint32)
    np.testing.assert_array_equal(packing.unpack(memoryview(words), 8, 16), np.arange(8))
    with pytest.raises(InvalidInputError, match="contiguous"):
        packing.unpack(memoryview(data)[::2], 8, 8)


def test_unpack_add_refuses_unreduced_accumulator():
    """An accumulator word >= 2^b is an argument error; nothing is added."""
    acc = np.zeros(8, dtype=np.uint32)
    acc[3] = 300
    with pytest.raises(InvalidInputError, match="300 at index 3"):
        packing.unpack_add(acc, packing.pack(np.ones(8, np.uint32), 8), 8)
    assert acc.tolist() == [0, 0, 0, 300, 0, 0, 0, 0]


def test_pack_refuses_unreduced_words():
    """pack never reduces silently: a word >= 2^b is an error naming it."""
    with pytest.raises(InvalidInputError, match="16 at index 2"):
        packing.pack(np.array([1, 2, 16], dtype=np.uint32), 4)
    with pytest.raises(InvalidInputError, match="index 0"):
        packing.pack(np.array([1 << 40], dtype=np.uint64), 40)


def _bad_calls():
    ro = np.zeros(4, dtype=np.uint32)
    ro.flags.writeable = False
    d4 = bytes(2)
    return [
        ("dtype", lambda: packing.pack(np.zeros(4, np.uint64), 8)),
        ("dtype", lambda: packing.pack(np.zeros(4, np.uint32), 33)),
        ("dtype", lambda: packing.pack(np.zeros(4, np.float32), 8)),
        ("numpy array", lambda: packing.pack([1, 2], 8)),
        ("one-dimensional", lambda: packing.pack(np.zeros((2, 2), np.uint32), 8)),
        ("contiguous", lambda: packing.pack(np.zeros(8, np.uint32)[::2], 8)),
        ("1..64", lambda: packing.pack(np.zeros(4, np.uint32), 0)),
        ("1..64", lambda: packing.unpack(d4, 4, 65)),
        ("1..64", lambda: packing.packed_size(4, 0)),
        ("non-negative", lambda: packing.packed_size(-1, 8)),
        ("non-negative", lambda: packing.unpack(d4, -4, 4)),
        ("non-negative", lambda: packing.unpack(d4, 2.0, 4)),
        ("bytes", lambda: packing.unpack("ab", 4, 4)),
        ("bytes", lambda: packing.unpack_add(np.zeros(4, np.uint32), [0, 0], 4)),
        ("read-only", lambda: packing.unpack_add(ro, d4, 4)),
        ("dtype", lambda: packing.unpack_add(np.zeros(4, np.uint64), d4, 4)),
    ]


@pytest.mark.parametrize("what,call", _bad_calls())
def test_bad_arguments_raise_invalid_input(what, call):
    """Bad arguments raise InvalidInputError (not MalformedMessageError) naming the problem."""
    with pytest.raises(InvalidInputError, match=what):
        call()


def test_large_fast_widths_round_trip():
    """The b = 8, 16, 32, 64 fast paths round-trip a 10^5-element vector."""
    rng = np.random.default_rng(3)
    for b in (8, 16, 32, 64):
        dt = masking.dtype_for_bits(b)
        v = (rng.integers(0, 2**64, 100_000, dtype=np.uint64) >> np.uint64(64 - b)).astype(dt)
        data = packing.pack(v, b)
        assert data == v.astype(f"<u{b // 8}").tobytes()
        np.testing.assert_array_equal(packing.unpack(data, v.size, b), v)

"""Tests for secagg.masking: Z_2^b vectors, fused mask application, add/sub.

The reference is plain Python integers over pycryptodome's AES-CTR keystream;
every implementation usable here, ``openssl`` included, is checked against it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from Crypto.Cipher import AES
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg import _core, _openssl, masking, prg
from secagg.exceptions import InvalidInputError

IMPLS = prg.implementations()


def ref_mask(key: bytes, m: int, b: int) -> list[int]:
    """PRG(key) in Z_2^b from pycryptodome: little-endian word i of the keystream mod 2^b."""
    w = 4 if b <= 32 else 8
    ks = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=0).encrypt(bytes(m * w))
    return [int.from_bytes(ks[w * i : w * i + w], "little") % (1 << b) for i in range(m)]


def random_vector(rng: np.random.Generator, m: int, b: int) -> np.ndarray:
    """A uniformly random valid Z_2^b vector."""
    dt = masking.dtype_for_bits(b)
    raw = rng.integers(0, 2**64, size=m, dtype=np.uint64, endpoint=False)
    if b < 64:
        raw &= np.uint64((1 << b) - 1)
    return raw.astype(dt)


@pytest.mark.parametrize("b", range(1, 65))
def test_dtype_for_bits(b):
    """uint32 storage for b <= 32, uint64 above."""
    assert masking.dtype_for_bits(b) == (np.dtype(np.uint32) if b <= 32 else np.dtype(np.uint64))


@pytest.mark.parametrize("b", [0, 65, -1, True, 8.0, "8", None])
def test_dtype_for_bits_rejects(b):
    """Bit widths outside 1..64 or of the wrong type are refused."""
    with pytest.raises(InvalidInputError, match="1..64"):
        masking.dtype_for_bits(b)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("b", range(1, 65))
def test_apply_masks_every_bit_width_matches_reference(impl, b):
    """vec + PRG(k1) - PRG(k2) + PRG(k3) mod 2^b equals the pure-Python reference."""
    rng = np.random.default_rng(b)
    m = 45  # w*m is not a multiple of 16: exercises the partial last block
    x = random_vector(rng, m, b)
    keys = [os.urandom(16) for _ in range(3)]
    signs = [1, -1, 1]
    y = x.copy()
    masking.apply_masks(y, keys, signs, b, impl=impl)
    expected = [int(v) for v in x]
    for key, s in zip(keys, signs, strict=True):
        mask = ref_mask(key, m, b)
        expected = [(e + s * r) % (1 << b) for e, r in zip(expected, mask, strict=True)]
    assert [int(v) for v in y] == expected


@pytest.mark.parametrize("b", [7, 32, 40, 64])
@pytest.mark.parametrize("m", [4095, 4096, 4097, 2047, 2048, 2049, 12289])
def test_apply_masks_slice_boundaries(b, m):
    """Vectors around the 16 KiB slice size agree across all implementations and the reference."""
    rng = np.random.default_rng(m + b)
    x = random_vector(rng, m, b)
    keys = [os.urandom(16) for _ in range(2)]
    outs = []
    for impl in IMPLS:
        y = x.copy()
        masking.apply_masks(y, keys, [1, -1], b, impl=impl)
        outs.append(y)
    ref = [
        (int(v) + a - c) % (1 << b)
        for v, a, c in zip(x, ref_mask(keys[0], m, b), ref_mask(keys[1], m, b), strict=True)
    ]
    assert [int(v) for v in outs[0]] == ref
    for y in outs[1:]:
        np.testing.assert_array_equal(y, outs[0])


def test_apply_masks_many_keys_large_vector_all_impls_agree():
    """64 keys over 10^5 elements give identical results under every implementation."""
    rng = np.random.default_rng(7)
    m, b = 100_001, 32
    x = random_vector(rng, m, b)
    keys = [os.urandom(16) for _ in range(64)]
    signs = [1 if i % 3 else -1 for i in range(64)]
    outs = []
    for impl in IMPLS:
        y = x.copy()
        masking.apply_masks(y, keys, signs, b, impl=impl)
        outs.append(y)
    for y in outs[1:]:
        np.testing.assert_array_equal(y, outs[0])
    # and equal to the sum of the individually expanded masks
    ref = x.astype(np.uint64)
    for k, s in zip(keys, signs, strict=True):
        mk = prg.expand(k, m, b).astype(np.uint64)
        ref = ref + mk if s == 1 else ref - mk
    np.testing.assert_array_equal(outs[0], (ref & np.uint64(2**32 - 1)).astype(np.uint32))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("b,m", [(61, 3 * 8192 + 5), (20, 2 * 16384 - 3)])
def test_apply_masks_more_keys_than_a_group_over_several_slices(impl, b, m):
    """19 keys (several openssl groups of keys) over a vector of several 64 KiB slices
    with a short last one equal the pycryptodome reference, whatever the implementation."""
    rng = np.random.default_rng(m)
    x = random_vector(rng, m, b)
    keys = [rng.bytes(16) for _ in range(19)]
    signs = [1 if j % 3 else -1 for j in range(19)]
    y = x.copy()
    masking.apply_masks(y, keys, signs, b, impl=impl)
    ref = np.array([int(v) for v in x], dtype=object)
    for k, sgn in zip(keys, signs, strict=True):
        ref = (ref + sgn * np.array(ref_mask(k, m, b), dtype=object)) % (1 << b)
    assert [int(v) for v in y] == list(ref)


class FixedStream:
    """A stand-in CTR encryptor whose keystream is given bytes (update_into as pyca's)."""

    def __init__(self, stream: bytes) -> None:
        self.stream, self.pos = stream, 0

    def update_into(self, data: bytes, buf: memoryview) -> int:
        n = len(data)
        assert len(buf) >= n + 15  # the room pyca/cryptography 42 asks for
        chunk = self.stream[self.pos : self.pos + n]
        buf[:n] = bytes(a ^ c for a, c in zip(data, chunk, strict=True))
        self.pos += n
        return n


@given(
    b=st.integers(1, 64),
    m=st.integers(0, 200),
    signs=st.lists(st.sampled_from([1, -1]), min_size=0, max_size=5),
    sl=st.sampled_from([16, 48, 256]),
    seed=st.integers(0, 2**32 - 1),
)
def test_core_adds_external_streams_mod_2_b(b, m, signs, sl, seed):
    """The core's add of externally made keystream: vec + sum_j s_j * (LE words of stream j)
    mod 2^b, for any slice size; the vector is never left unreduced."""
    rng = np.random.default_rng(seed)
    x = random_vector(rng, m, b)
    w = x.itemsize
    streams = [rng.bytes(m * w) for _ in signs]
    y = x.copy()
    sign_bytes = bytes(1 if v == 1 else 0xFF for v in signs)
    _core.mask_apply_streams(y, [FixedStream(st) for st in streams], sign_bytes, b, sl)
    expected = [int(v) for v in x]
    for stream, sgn in zip(streams, signs, strict=True):
        words = [int.from_bytes(stream[w * i : w * i + w], "little") for i in range(m)]
        expected = [(e + sgn * k) % (1 << b) for e, k in zip(expected, words, strict=True)]
    assert [int(v) for v in y] == expected


@pytest.mark.parametrize(
    "signs,sl,match",
    [
        (b"\x01\x00", 64, "invalid argument"),
        (b"\x01\x02", 64, "invalid argument"),
        (b"\x01", 64, "2 ciphers need 2 signs"),
    ],
)
def test_core_external_streams_refuse_bad_signs(signs, sl, match):
    """A sign other than +1/-1, or a sign count unlike the cipher count, is InvalidInputError."""
    x = np.zeros(40, dtype=np.uint32)
    ciphers = [FixedStream(bytes(160)), FixedStream(bytes(160))]
    with pytest.raises(InvalidInputError, match=match):
        _core.mask_apply_streams(x, ciphers, signs, 32, sl)
    assert not x.any()


@pytest.mark.skipif(not _openssl.AVAILABLE, reason="pyca/cryptography is not installed")
@pytest.mark.parametrize("b", [12, 40])
def test_openssl_refuses_unreduced_input_anywhere_and_writes_nothing(b):
    """With openssl, a word >= 2^b in the last slice is refused before any key or slice is
    applied, so the vector stays untouched."""
    dt = masking.dtype_for_bits(b)
    m = 70_000
    x = np.zeros(m, dtype=dt)
    x[m - 2] = dt.type(1 << b)
    before = x.copy()
    keys = [os.urandom(16) for _ in range(10)]
    with pytest.raises(InvalidInputError, match=f"index {m - 2}"):
        masking.apply_masks(x, keys, [1] * 10, b, impl="openssl")
    np.testing.assert_array_equal(x, before)


@given(
    b=st.integers(1, 64),
    m=st.integers(0, 300),
    nkeys=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    impl=st.sampled_from(IMPLS),
)
def test_masks_cancel(b, m, nkeys, seed, impl):
    """Adding then subtracting the same masks (any order) restores the vector."""
    rng = np.random.default_rng(seed)
    x = random_vector(rng, m, b)
    keys = [rng.bytes(16) for _ in range(nkeys)]
    y = x.copy()
    masking.apply_masks(y, keys, [1] * nkeys, b, impl=impl)
    order = rng.permutation(nkeys)
    masking.apply_masks(y, [keys[i] for i in order], [-1] * nkeys, b)
    np.testing.assert_array_equal(y, x)


@given(n=st.integers(2, 6), b=st.integers(1, 64), m=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_pairwise_masks_cancel_in_the_sum(n, b, m, seed):
    """With pair keys (smaller id adds, larger subtracts), masked inputs sum to the inputs' sum."""
    rng = np.random.default_rng(seed)
    xs = [random_vector(rng, m, b) for _ in range(n)]
    pair = {(u, v): rng.bytes(16) for u in range(n) for v in range(u + 1, n)}
    acc = np.zeros(m, dtype=masking.dtype_for_bits(b))
    plain = np.zeros_like(acc)
    for u in range(n):
        keys = [pair[(min(u, v), max(u, v))] for v in range(n) if v != u]
        signs = [1 if u < v else -1 for v in range(n) if v != u]
        y = xs[u].copy()
        masking.apply_masks(y, keys, signs, b)
        masking.add_into(acc, y, b)
        masking.add_into(plain, xs[u], b)
    np.testing.assert_array_equal(acc, plain)


def test_apply_masks_with_no_keys_or_empty_vector():
    """No keys leaves the vector unchanged; an empty vector is fine."""
    x = np.arange(10, dtype=np.uint32)
    masking.apply_masks(x, [], [], 8)
    np.testing.assert_array_equal(x, np.arange(10, dtype=np.uint32))
    e = np.zeros(0, dtype=np.uint64)
    masking.apply_masks(e, [bytes(16)], [1], 64)
    assert e.size == 0


@pytest.mark.parametrize("b", [1, 8, 31, 33, 63])
def test_apply_masks_refuses_unreduced_input_and_writes_nothing(b):
    """A word >= 2^b is an error naming it, and the vector stays untouched."""
    dt = masking.dtype_for_bits(b)
    x = np.zeros(5000, dtype=dt)
    x[4321] = dt.type(1 << b)
    before = x.copy()
    with pytest.raises(InvalidInputError, match="index 4321"):
        masking.apply_masks(x, [os.urandom(16)], [1], b)
    np.testing.assert_array_equal(x, before)


def _bad_mask_calls():
    v32 = np.zeros(8, dtype=np.uint32)
    k = bytes(16)
    ro = np.zeros(8, dtype=np.uint32)
    ro.flags.writeable = False
    return [
        ("dtype", lambda: masking.apply_masks(np.zeros(8, np.uint64), [k], [1], 16)),
        ("dtype", lambda: masking.apply_masks(np.zeros(8, np.uint32), [k], [1], 40)),
        ("dtype", lambda: masking.apply_masks(np.zeros(8, np.int32), [k], [1], 16)),
        ("dtype", lambda: masking.apply_masks(np.zeros(8, ">u4"), [k], [1], 16)),
        ("numpy array", lambda: masking.apply_masks([0] * 8, [k], [1], 16)),
        ("one-dimensional", lambda: masking.apply_masks(np.zeros((2, 4), np.uint32), [k], [1], 8)),
        ("contiguous", lambda: masking.apply_masks(np.zeros(16, np.uint32)[::2], [k], [1], 8)),
        ("read-only", lambda: masking.apply_masks(ro, [k], [1], 8)),
        ("16 bytes", lambda: masking.apply_masks(v32, [bytes(15)], [1], 8)),
        ("16 bytes", lambda: masking.apply_masks(v32, [k, bytes(32)], [1, 1], 8)),
        ("16 bytes", lambda: masking.apply_masks(v32, ["a" * 16], [1], 8)),
        ("single bytes", lambda: masking.apply_masks(v32, k, [1], 8)),
        ("same length", lambda: masking.apply_masks(v32, [k, k], [1], 8)),
        ("signs", lambda: masking.apply_masks(v32, [k], [0], 8)),
        ("signs", lambda: masking.apply_masks(v32, [k], [2], 8)),
        ("signs", lambda: masking.apply_masks(v32, [k], [True], 8)),
        ("1..64", lambda: masking.apply_masks(v32, [k], [1], 0)),
        ("1..64", lambda: masking.apply_masks(v32, [k], [1], 65)),
        ("implementation", lambda: masking.apply_masks(v32, [k], [1], 8, impl="x")),
    ]


@pytest.mark.parametrize("what,call", _bad_mask_calls())
def test_apply_masks_bad_arguments(what, call):
    """Every bad argument of apply_masks raises InvalidInputError naming the problem."""
    with pytest.raises(InvalidInputError, match=what):
        call()


@given(b=st.integers(1, 64), m=st.integers(0, 500), seed=st.integers(0, 2**32))
def test_add_into_and_sub_into_match_python(b, m, seed):
    """add_into/sub_into compute (a +- x) mod 2^b elementwise, and undo each other."""
    rng = np.random.default_rng(seed)
    a, x = random_vector(rng, m, b), random_vector(rng, m, b)
    s = a.copy()
    masking.add_into(s, x, b)
    assert [int(v) for v in s] == [(int(p) + int(q)) % (1 << b) for p, q in zip(a, x, strict=True)]
    d = a.copy()
    masking.sub_into(d, x, b)
    assert [int(v) for v in d] == [(int(p) - int(q)) % (1 << b) for p, q in zip(a, x, strict=True)]
    masking.sub_into(s, x, b)
    np.testing.assert_array_equal(s, a)


@pytest.mark.parametrize("fn", [masking.add_into, masking.sub_into])
def test_add_sub_refuse_bad_input_and_leave_acc_untouched(fn):
    """Length, dtype, range and layout errors raise InvalidInputError; acc is unchanged."""
    acc = np.arange(10, dtype=np.uint32)
    before = acc.copy()
    bad_x = np.arange(10, dtype=np.uint32)
    bad_x[9] = 1 << 12
    with pytest.raises(InvalidInputError, match="x holds words >= 2\\^12.*index 9"):
        fn(acc, bad_x, 12)
    with pytest.raises(InvalidInputError, match="same length"):
        fn(acc, np.arange(9, dtype=np.uint32), 12)
    with pytest.raises(InvalidInputError, match="dtype"):
        fn(acc, np.arange(10, dtype=np.uint64), 12)
    with pytest.raises(InvalidInputError, match="acc holds words"):
        fn(acc, np.arange(10, dtype=np.uint32), 3)
    with pytest.raises(InvalidInputError, match="contiguous"):
        fn(acc, np.arange(20, dtype=np.uint32)[::2], 12)
    np.testing.assert_array_equal(acc, before)


@pytest.mark.parametrize("b", [5, 32, 33, 64])
def test_check_vector(b):
    """check_vector accepts valid vectors and names the first unreduced word."""
    dt = masking.dtype_for_bits(b)
    v = np.full(100, (1 << b) - 1, dtype=dt)
    masking.check_vector(v, b)
    if b not in (32, 64):
        v[17] = dt.type(1 << b)
        with pytest.raises(InvalidInputError, match=f"{1 << b} at index 17"):
            masking.check_vector(v, b)


def test_concurrent_threads_give_sequential_results():
    """The core keeps no shared mutable state: threads masking their own vectors agree
    with a sequential run (cffi releases the GIL during the C call)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    jobs = [
        (random_vector(rng, 50_000, b), [rng.bytes(16) for _ in range(4)], b)
        for b in (13, 32, 47, 64)
        for _ in range(2)
    ]
    expected = []
    for x, keys, b in jobs:
        y = x.copy()
        masking.apply_masks(y, keys, [1, -1, 1, 1], b)
        expected.append(y)

    def work(i: int) -> np.ndarray:
        x, keys, b = jobs[i]
        y = x.copy()
        masking.apply_masks(y, keys, [1, -1, 1, 1], b)
        return y

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(len(jobs))))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 64),
    m=st.integers(1, 6000),
    threads=st.integers(2, 5),
    impl=st.sampled_from([i for i in IMPLS if i != "portable"] or IMPLS),
    seed=st.integers(0, 2**32),
)
def test_threaded_masking_gives_the_bytes_of_one_thread(b, m, threads, impl, seed):
    """Split into parts (each from its own counter block), masked in threads, the
    vector comes out as from one call; with small parts to exercise the cuts."""
    rng = np.random.default_rng(seed)
    x = random_vector(rng, m, b)
    keys = [rng.bytes(16) for _ in range(3)]
    signs = [1, -1, 1]
    one = x.copy()
    masking.apply_masks(one, keys, signs, b, impl=impl)
    many = x.copy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(masking, "THREAD_MIN_BYTES", 1024)
        mp.setattr(masking, "THREAD_ALIGN", 512)
        parts = masking._parts(many.nbytes, many.itemsize, threads)
        masking.apply_masks(many, keys, signs, b, impl=impl, threads=threads)
    np.testing.assert_array_equal(many, one)
    # The parts tile the vector in order, each starting on a 512-byte cut.
    assert parts[0][0] == 0 and parts[-1][1] == m
    assert all(a[1] == c[0] for a, c in zip(parts, parts[1:], strict=False))
    assert all(start * many.itemsize % 512 == 0 for start, _ in parts)
    assert len(parts) <= threads
    assert (len(parts) >= 2) == (many.nbytes >= 2048)


def test_threaded_masking_at_the_default_cut_and_the_reference():
    """At the real part size (1 MiB per thread) threads agree with pycryptodome's AES-CTR."""
    m, b = (3 << 20) // 4 + 7, 32
    key = bytes(range(16))
    ks = AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=0).encrypt(bytes(m * 4))
    want = np.frombuffer(ks, dtype="<u4").astype(np.uint32)
    got = np.zeros(m, dtype=np.uint32)
    masking.apply_masks(got, [key], [1], b, threads=3)
    assert len(masking._parts(got.nbytes, 4, 3)) == 3
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [0, -1, 257, 1.5, True, "2"])
def test_thread_count_is_checked(threads):
    """A thread count outside 1..256 is refused before anything is written."""
    x = np.arange(10, dtype=np.uint32)
    with pytest.raises(InvalidInputError, match="threads"):
        masking.apply_masks(x, [bytes(16)], [1], 8, threads=threads)
    np.testing.assert_array_equal(x, np.arange(10, dtype=np.uint32))

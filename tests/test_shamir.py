"""Shamir sharing over GF(2^61 - 1), Lagrange reconstruction and Reed-Solomon decoding."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import gf_reference as ref
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from secagg import shamir
from secagg._core import ffi, lib
from secagg._core_gf61 import gf61_vec
from secagg.exceptions import (
    DecodingError,
    InvalidInputError,
    MalformedMessageError,
    NotEnoughSharesError,
)

P = ref.P
DATA = Path(__file__).parent / "data"

elements = st.one_of(
    st.integers(0, P - 1),
    st.sampled_from([0, 1, 2, P - 2, P - 1, 2**56 - 1, 2**60, 2**32 + 1]),
)
nonzero = elements.filter(lambda v: v != 0)
words = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([2**64 - 1, P, P + 1, 2 * P, 2**63]))
points = st.one_of(st.integers(1, 2**16), st.integers(1, P - 1), st.sampled_from([P - 1, P - 2]))


@st.composite
def sharing(draw, max_n: int = 10, max_len: int = 40):
    """A secret, a threshold, distinct points and the exact random bytes one split needs."""
    n = draw(st.integers(1, max_n))
    t = draw(st.integers(1, n))
    xs = draw(st.lists(points, min_size=n, max_size=n, unique=True))
    secret = draw(st.binary(min_size=1, max_size=max_len))
    need = shamir.random_bytes_needed(len(secret), t)
    rand = draw(st.binary(min_size=need, max_size=need))
    return secret, t, xs, rand


def corrupt(share: bytes, rng: np.random.Generator) -> bytes:
    """Replace every value of a share by a different valid field element."""
    values = ref.decode_share(share)
    new = []
    for v in values:
        delta = int(rng.integers(1, P))
        new.append((v + delta) % P)
    return ref.encode_share(new)


# --- field arithmetic against the pure-Python reference ---------------------


@given(st.lists(st.tuples(elements, elements), min_size=1, max_size=20))
def test_field_add_sub_mul_match_reference(pairs):
    """C add, sub and mul agree with Python big-integer arithmetic mod p."""
    a = np.array([x for x, _ in pairs], dtype=np.uint64)
    b = np.array([y for _, y in pairs], dtype=np.uint64)
    for op, fn in (
        (lib.SECAGG_GF61_ADD, ref.add),
        (lib.SECAGG_GF61_SUB, ref.sub),
        (lib.SECAGG_GF61_MUL, ref.mul),
    ):
        got = [int(v) for v in gf61_vec(op, a, b)]
        assert got == [fn(x, y) for x, y in pairs]


@given(st.lists(nonzero, min_size=1, max_size=10))
def test_field_inverse_matches_reference(values):
    """C inversion agrees with the reference and a * a^-1 = 1."""
    got = [int(v) for v in gf61_vec(lib.SECAGG_GF61_INV, np.array(values, dtype=np.uint64))]
    assert got == [ref.inv(v) for v in values]
    assert all(v * g % P == 1 for v, g in zip(values, got, strict=True))


@given(st.lists(words, min_size=1, max_size=20))
def test_field_reduce_any_word(values):
    """Reducing any 64-bit word (how random bytes become coefficients) gives w mod p."""
    got = gf61_vec(lib.SECAGG_GF61_REDUCE, np.array(values, dtype=np.uint64))
    assert [int(v) for v in got] == [v % P for v in values]


@given(elements, st.integers(0, 2**64 - 1))
def test_field_pow_matches_reference(a, e):
    """C exponentiation agrees with Python's pow(a, e, p)."""
    got = gf61_vec(
        lib.SECAGG_GF61_POW, np.array([a], dtype=np.uint64), np.array([e], dtype=np.uint64)
    )
    assert int(got[0]) == pow(a, e, P)


def test_field_rejects_non_canonical_operands():
    """Operands not below p (or 0 for inversion) are refused, not silently reduced."""
    for op in (lib.SECAGG_GF61_ADD, lib.SECAGG_GF61_SUB, lib.SECAGG_GF61_MUL):
        with pytest.raises(InvalidInputError):
            gf61_vec(op, np.array([P], dtype=np.uint64), np.array([1], dtype=np.uint64))
        with pytest.raises(InvalidInputError):
            gf61_vec(op, np.array([1], dtype=np.uint64), np.array([2**64 - 1], dtype=np.uint64))
    with pytest.raises(InvalidInputError):
        gf61_vec(lib.SECAGG_GF61_INV, np.array([0], dtype=np.uint64))
    with pytest.raises(InvalidInputError):
        gf61_vec(99, np.array([1], dtype=np.uint64))


# --- the PROTOCOL.md section 3 test vector ---------------------------------


def _load_vector_script():
    spec = importlib.util.spec_from_file_location(
        "make_shamir_vector", DATA / "make_shamir_vector.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_vector_file_matches_its_generator():
    """tests/data/shamir_vector.json is exactly what its independent script computes."""
    stored = json.loads((DATA / "shamir_vector.json").read_text())
    assert stored == _load_vector_script().build()
    assert stored["p"] == P


@pytest.mark.parametrize("index", [0, 1])
def test_vector_split_and_reconstruct(index):
    """The C split reproduces the pinned shares byte for byte, and they reconstruct."""
    vec = json.loads((DATA / "shamir_vector.json").read_text())["vectors"][index]
    secrets = [bytes.fromhex(s) for s in vec["secrets"]]
    shares = shamir.split(secrets, vec["t"], vec["xs"], bytes.fromhex(vec["rand"]))
    assert [[s.hex() for s in row] for row in shares] == vec["shares"]
    t = vec["t"]
    for secret, row in zip(secrets, shares, strict=True):
        assert shamir.reconstruct(vec["xs"][::-1], row[::-1], t, len(secret)) == secret


def test_vector_first_coefficient_reduction():
    """The all-ones first coefficient word of vector 0 enters as 2^64 - 1 mod p = 7."""
    vec = json.loads((DATA / "shamir_vector.json").read_text())["vectors"][0]
    rand = bytes.fromhex(vec["rand"])
    secret = bytes.fromhex(vec["secrets"][0])
    assert ref.coefficients(secret, vec["t"], rand)[0][1] == 7


# --- split and reconstruction -----------------------------------------------


@given(sharing())
def test_split_matches_reference(case):
    """C split equals the pure-Python reference for the same random bytes."""
    secret, t, xs, rand = case
    assert shamir.split([secret], t, xs, rand)[0] == ref.split(secret, t, xs, rand)


@given(
    st.lists(st.binary(min_size=1, max_size=30), min_size=1, max_size=4),
    st.integers(1, 5),
    st.data(),
)
def test_split_many_uses_one_buffer_per_secret_in_order(secrets, t, data):
    """Splitting several secrets at once equals splitting each with its own slice of rand."""
    xs = data.draw(st.lists(points, min_size=t, max_size=t + 3, unique=True))
    needs = [shamir.random_bytes_needed(len(s), t) for s in secrets]
    rands = [data.draw(st.binary(min_size=n, max_size=n)) for n in needs]
    together = shamir.split(secrets, t, xs, b"".join(rands))
    assert together == [ref.split(s, t, xs, r) for s, r in zip(secrets, rands, strict=True)]


@given(st.lists(points, min_size=1, max_size=30, unique=True))
def test_lagrange_matches_reference(xs):
    """Lagrange coefficients at 0 equal the reference's."""
    assert shamir.lagrange_at_zero(xs) == ref.lagrange_at_zero(xs)


def test_lagrange_large_set_matches_reference():
    """The interleaved C loop (blocks of 4 plus a tail) is right for a larger, odd-sized set."""
    xs = list(range(5, 5 + 4 * 13 + 3))
    assert shamir.lagrange_at_zero(xs) == ref.lagrange_at_zero(xs)


@given(sharing(max_n=12), st.randoms(use_true_random=False))
def test_any_t_shares_reconstruct(case, rnd):
    """Any t of the n shares, in any order, reconstruct the secret (with the reference too)."""
    secret, t, xs, rand = case
    shares = shamir.split([secret], t, xs, rand)[0]
    idx = rnd.sample(range(len(xs)), t)
    sub_x = [xs[i] for i in idx]
    sub_s = [shares[i] for i in idx]
    assert shamir.reconstruct(sub_x, sub_s, t, len(secret)) == secret
    assert ref.reconstruct(sub_x, sub_s, t, len(secret)) == secret


def test_reconstruct_uses_exactly_the_first_t():
    """Shares after the first t are ignored, even if they are garbage."""
    secret = os.urandom(32)
    xs = [1, 2, 3, 4, 5]
    shares = shamir.split([secret], 3, xs)[0]
    shares[3] = bytes(40)
    shares[4] = (P - 1).to_bytes(8, "little") * 5
    assert shamir.reconstruct(xs, shares, 3, 32) == secret
    shares[0] = corrupt(shares[0], np.random.default_rng(1))
    with pytest.raises(DecodingError):
        shamir.reconstruct(xs, shares, 3, 32)


@given(st.lists(st.binary(min_size=13, max_size=13), min_size=1, max_size=5), st.integers(2, 6))
def test_reconstruct_many_equals_one_by_one(secrets, t):
    """reconstruct_many with one holder set gives what reconstruct gives per secret."""
    xs = list(range(3, 3 + t + 2))
    rows = shamir.split(secrets, t, xs)
    assert shamir.reconstruct_many(xs, rows, t, 13) == secrets
    assert [shamir.reconstruct(xs, r, t, 13) for r in rows] == secrets


def test_large_holder_set_round_trip():
    """1000 holders at t = 667 (the benchmark size) round-trip through a random t-subset."""
    secret = os.urandom(32)
    xs = list(range(1, 1001))
    shares = shamir.split([secret], 667, xs)[0]
    idx = np.random.default_rng(7).permutation(1000)[:667]
    sub = [int(i) for i in idx]
    assert shamir.reconstruct([xs[i] for i in sub], [shares[i] for i in sub], 667, 32) == secret


def test_threshold_one_hands_out_the_chunks():
    """At t = 1 every share is the secret's chunks (why the protocol refuses t < 2)."""
    secret = b"0123456789"
    shares = shamir.split([secret], 1, [4, 5], b"")[0]
    assert shares[0] == shares[1] == ref.encode_share(ref.chunks(secret))
    assert shamir.reconstruct([5], [shares[1]], 1, 10) == secret


@given(sharing(max_n=8), st.binary(min_size=1, max_size=40), st.data())
def test_fewer_than_t_shares_fit_every_secret(case, other, data):
    """For any t-1 shares and any other secret there is a polynomial (a valid random tape)
    producing exactly those shares: t-1 shares say nothing about the secret."""
    secret, t, xs, rand = case
    assume(t >= 2)
    other = (other * 40)[: len(secret)]
    shares = shamir.split([secret], t, xs, rand)[0]
    known = data.draw(
        st.lists(st.sampled_from(range(len(xs))), min_size=t - 1, max_size=t - 1, unique=True)
    )
    # For each chunk: the polynomial through (0, other chunk) and the t-1 known values.
    tape = b""
    for c, a0 in enumerate(ref.chunks(other)):
        pts = [(0, a0)] + [(xs[j], ref.decode_share(shares[j])[c]) for j in known]
        coeffs = ref.interpolate(pts)
        assert coeffs[0] == a0
        tape += b"".join(v.to_bytes(8, "little") for v in coeffs[1:])
    forged = shamir.split([other], t, xs, tape)[0]
    assert [forged[j] for j in known] == [shares[j] for j in known]


def test_fresh_randomness_for_every_split():
    """Two splits of one secret, and two equal secrets in one call, share no random bytes."""
    secret = os.urandom(32)
    xs = list(range(1, 8))
    first = shamir.split([secret, secret], 4, xs)
    second = shamir.split([secret], 4, xs)[0]
    for j in range(len(xs)):
        a, b, c = (ref.decode_share(s) for s in (first[0][j], first[1][j], second[j]))
        assert all(x != y for x, y in zip(a, b, strict=True))
        assert all(x != y for x, y in zip(a, c, strict=True))


def test_split_draws_exactly_the_needed_bytes_from_urandom(monkeypatch):
    """With rand=None, split asks os.urandom once for one buffer per secret, nothing more."""
    calls = []
    real = os.urandom

    def spy(n):
        calls.append(n)
        return real(n)

    monkeypatch.setattr(shamir.os, "urandom", spy)
    shamir.split([b"a" * 32, b"b" * 10], 5, list(range(1, 9)))
    assert calls == [shamir.random_bytes_needed(32, 5) + shamir.random_bytes_needed(10, 5)]


def test_sizes():
    """share_size and random_bytes_needed follow 8*ceil(L/7) and 8*(t-1)*ceil(L/7)."""
    assert shamir.share_size(32) == 40
    assert shamir.share_size(7) == 8
    assert shamir.share_size(8) == 16
    assert shamir.random_bytes_needed(32, 3) == 80
    assert shamir.random_bytes_needed(1, 1) == 0
    for n in range(1, 50):
        assert lib.secagg_shamir_share_size(n) == shamir.share_size(n)
        assert lib.secagg_shamir_rand_size(n, 4) == shamir.random_bytes_needed(n, 4)


def test_out_of_range_chunk_is_a_decoding_error():
    """A reconstructed last chunk that does not fit its bytes is reported, not truncated."""
    xs = [1, 2]
    # t = 1 share whose last chunk value is 2^32 for a 32-byte secret (last chunk: 4 bytes).
    share = ref.encode_share([0, 0, 0, 0, 2**32])
    with pytest.raises(DecodingError):
        shamir.reconstruct(xs[:1], [share], 1, 32)
    assert shamir.reconstruct(xs[:1], [ref.encode_share([0, 0, 0, 0, 2**32 - 1])], 1, 32) == (
        bytes(28) + b"\xff" * 4
    )


# --- Reed-Solomon decoding ---------------------------------------------------


@st.composite
def noisy(draw):
    """A split over h holders with up to floor((h - t)/2) shares replaced by wrong ones."""
    h = draw(st.integers(1, 14))
    t = draw(st.integers(1, h))
    xs = draw(st.lists(points, min_size=h, max_size=h, unique=True))
    secret = draw(st.binary(min_size=1, max_size=24))
    bound = (h - t) // 2
    bad = draw(st.lists(st.sampled_from(range(h)), max_size=bound, unique=True)) if bound else []
    seed = draw(st.integers(0, 2**32))
    whole = draw(st.booleans())  # corrupt every chunk of a bad share, or just one
    return secret, t, xs, bad, seed, whole


@given(noisy())
def test_decode_corrects_up_to_bound_and_names_bad_holders(case):
    """With at most floor((h-t)/2) wrong shares, decode returns the secret and exactly their ids."""
    secret, t, xs, bad, seed, whole = case
    rng = np.random.default_rng(seed)
    shares = shamir.split([secret], t, xs)[0]
    for j in bad:
        if whole:
            shares[j] = corrupt(shares[j], rng)
        else:
            values = ref.decode_share(shares[j])
            c = int(rng.integers(len(values)))
            values[c] = (values[c] + int(rng.integers(1, P))) % P
            shares[j] = ref.encode_share(values)
    got, wrong = shamir.decode(xs, shares, t, len(secret))
    assert got == secret
    assert wrong == tuple(sorted(xs[j] for j in bad))


def test_decode_clean_shares_reports_nobody():
    """Decoding untouched shares names no holder, also with h = t (no redundancy)."""
    secret = os.urandom(32)
    xs = [10, 20, 30, 40, 50, 60, 70]
    shares = shamir.split([secret], 4, xs)[0]
    assert shamir.decode(xs, shares, 4, 32) == (secret, ())
    assert shamir.decode(xs[:4], shares[:4], 4, 32) == (secret, ())


def test_decode_large_set_with_errors():
    """h = 100, t = 67: sixteen wrong shares are corrected and named."""
    secret = os.urandom(32)
    xs = list(range(1, 101))
    shares = shamir.split([secret], 67, xs)[0]
    rng = np.random.default_rng(3)
    bad = sorted(int(i) for i in rng.permutation(100)[:16])
    for j in bad:
        shares[j] = corrupt(shares[j], rng)
    assert shamir.decode(xs, shares, 67, 32) == (secret, tuple(xs[j] for j in bad))


def _other_codeword(secret, other, t, xs, shares, agree):
    """Shares of ``other`` from the polynomials that match ``shares`` at positions ``agree``
    (t - 1 of them), so they differ from the true ones at the other h - t + 1 positions."""
    tape = b""
    for c, a0 in enumerate(ref.chunks(other)):
        pts = [(0, a0)] + [(xs[j], ref.decode_share(shares[j])[c]) for j in agree]
        tape += b"".join(v.to_bytes(8, "little") for v in ref.interpolate(pts)[1:])
    return shamir.split([other], t, xs, tape)[0]


@given(st.integers(1, 8), st.integers(0, 6), st.binary(min_size=1, max_size=20), st.data())
def test_decode_beyond_bound_lands_on_chosen_codeword(t, extra, secret, data):
    """Errors chosen to move the word within the bound of another codeword decode to that
    codeword's secret (never the true one) and name the honest holders as wrong."""
    h = t + 2 * extra + 1 + data.draw(st.integers(0, 1))  # h - t >= 1
    xs = data.draw(st.lists(points, min_size=h, max_size=h, unique=True))
    other = data.draw(st.binary(min_size=len(secret), max_size=len(secret)))
    assume(other != secret)
    bound = (h - t) // 2
    shares = shamir.split([secret], t, xs)[0]
    order = data.draw(st.permutations(range(h)))
    agree = list(order[: t - 1])
    differ = list(order[t - 1 :])  # h - t + 1 positions where the codewords differ
    forged = _other_codeword(secret, other, t, xs, shares, agree)
    assert all(forged[j] != shares[j] for j in differ)
    # Replace bound + 1 shares (one past the bound) by the other codeword's.
    moved = differ[: bound + 1]
    received = list(shares)
    for j in moved:
        received[j] = forged[j]
    left = len(differ) - len(moved)  # distance to the other codeword
    if left <= bound:
        got, wrong = shamir.decode(xs, received, t, len(secret))
        assert got == other
        assert wrong == tuple(sorted(xs[j] for j in differ[bound + 1 :]))
    else:
        with pytest.raises(DecodingError):
            shamir.decode(xs, received, t, len(secret))


@given(st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**32), st.data())
def test_decode_beyond_bound_never_returns_true_secret(t, extra, seed, data):
    """More than floor((h-t)/2) random wrong shares: decoding fails or yields another secret."""
    h = t + extra
    bound = (h - t) // 2
    n_bad = data.draw(st.integers(bound + 1, h))
    xs = list(range(1, h + 1))
    secret = os.urandom(16)
    shares = shamir.split([secret], t, xs)[0]
    rng = np.random.default_rng(seed)
    for j in rng.permutation(h)[:n_bad]:
        shares[int(j)] = corrupt(shares[int(j)], rng)
    try:
        got, wrong = shamir.decode(xs, shares, t, 16)
    except DecodingError:
        return
    assert got != secret
    assert len(wrong) <= bound


def test_decode_failure_is_a_decoding_error():
    """Shares from two unrelated secrets mixed half and half cannot be decoded."""
    xs = list(range(1, 11))
    a = shamir.split([os.urandom(32)], 4, xs)[0]
    b = shamir.split([os.urandom(32)], 4, xs)[0]
    with pytest.raises(DecodingError, match="Reed-Solomon"):
        shamir.decode(xs, a[:5] + b[5:], 4, 32)


# --- error paths: Python API --------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": 0}, "at least 1"),
        ({"t": 6}, "exceeds the 5 holders"),
        ({"t": True}, "bool"),
        ({"t": 2.0}, "integer"),
        ({"xs": [0, 1, 2, 3, 4]}, "outside 1..p-1"),
        ({"xs": [1, 2, 3, 4, P]}, "outside 1..p-1"),
        ({"xs": [1, 2, 3, 4, -1]}, "outside 1..p-1"),
        ({"xs": [1, 2, 3, 2, 5]}, "appears twice"),
        ({"xs": [1, 2, "3", 4, 5]}, "integer"),
        ({"xs": b"\x01\x02\x03"}, "sequence of integers"),
        ({"rand": b"\x00" * 79}, "needs exactly 80"),
        ({"rand": b"\x00" * 81}, "needs exactly 80"),
        ({"rand": "x" * 80}, "must be bytes"),
        ({"secrets": [b""]}, "empty"),
        ({"secrets": b"abc"}, "not one byte string"),
        ({"secrets": ["abc"]}, "must be bytes"),
    ],
)
def test_split_rejects_bad_arguments(kwargs, match):
    """Each bad split argument raises InvalidInputError with a sentence naming it."""
    args = {"secrets": [bytes(32)], "t": 3, "xs": [1, 2, 3, 4, 5], "rand": bytes(80)}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=match):
        shamir.split(args["secrets"], args["t"], args["xs"], args["rand"])


def test_split_of_no_secrets_is_empty():
    """Splitting an empty list of secrets consumes nothing and returns nothing."""
    assert shamir.split([], 3, [1, 2, 3], b"") == []


def test_duplicate_points_detected_in_large_sets():
    """A repeated point among many is found (the C sort path, beyond 16 points)."""
    xs = list(range(1, 40)) + [17]
    with pytest.raises(InvalidInputError, match="appears twice"):
        shamir.split([b"k"], 3, xs)
    arr = np.array(xs, dtype=np.uint64)
    out = ffi.new("uint64_t[]", len(xs))
    assert lib.secagg_shamir_lagrange_at_zero(ffi.from_buffer("uint64_t[]", arr), len(xs), out) == (
        lib.SECAGG_ERR_DUPLICATE_X
    )


def test_reconstruct_rejects_bad_input():
    """reconstruct/decode raise the documented exception for every kind of bad input."""
    secret = os.urandom(32)
    xs = [1, 2, 3, 4]
    shares = shamir.split([secret], 3, xs)[0]
    with pytest.raises(NotEnoughSharesError, match="needs 1 more"):
        shamir.reconstruct(xs[:2], shares[:2], 3, 32)
    with pytest.raises(NotEnoughSharesError):
        shamir.decode(xs[:2], shares[:2], 3, 32)
    with pytest.raises(NotEnoughSharesError):
        shamir.reconstruct_many(xs[:2], [shares[:2]], 3, 32)
    with pytest.raises(InvalidInputError, match="pair up"):
        shamir.reconstruct(xs, shares[:3], 3, 32)
    with pytest.raises(InvalidInputError, match="pair up"):
        shamir.decode(xs[:3], shares, 3, 32)
    with pytest.raises(InvalidInputError, match="appears twice"):
        shamir.reconstruct([1, 1, 2, 4], shares, 3, 32)
    with pytest.raises(InvalidInputError, match="appears twice"):
        shamir.decode([1, 2, 3, 1], shares, 3, 32)
    with pytest.raises(InvalidInputError, match="outside"):
        shamir.reconstruct([0, 2, 3, 4], shares, 3, 32)
    with pytest.raises(InvalidInputError, match="at least 1"):
        shamir.reconstruct(xs, shares, 0, 32)
    with pytest.raises(InvalidInputError, match="secret_len"):
        shamir.reconstruct(xs, shares, 3, 0)
    with pytest.raises(InvalidInputError, match="not one byte string"):
        shamir.reconstruct(xs, shares[0], 3, 32)
    with pytest.raises(InvalidInputError, match="not one byte string"):
        shamir.decode(xs, shares[0], 3, 32)
    with pytest.raises(InvalidInputError, match="not one byte string"):
        shamir.reconstruct_many(xs, [shares[0]], 3, 32)
    with pytest.raises(MalformedMessageError, match="39 bytes; expected 40"):
        shamir.reconstruct(xs, [shares[0][:39]] + shares[1:], 3, 32)
    with pytest.raises(MalformedMessageError, match="expected 40"):
        shamir.decode(xs, shares[:3] + [shares[3] + b"\x00"], 3, 32)
    with pytest.raises(MalformedMessageError, match="must be bytes"):
        shamir.reconstruct(xs, [None] + shares[1:], 3, 32)
    too_big = shares[1][:16] + P.to_bytes(8, "little") + shares[1][24:]
    with pytest.raises(MalformedMessageError, match="holder 2: value 2"):
        shamir.reconstruct(xs, [shares[0], too_big] + shares[2:], 3, 32)
    with pytest.raises(MalformedMessageError, match="not below p"):
        shamir.decode(xs, [shares[0], too_big] + shares[2:], 3, 32)
    with pytest.raises(InvalidInputError):
        shamir.lagrange_at_zero([])
    with pytest.raises(InvalidInputError):
        shamir.share_size(0)
    with pytest.raises(InvalidInputError):
        shamir.random_bytes_needed(32, 0)
    assert shamir.reconstruct_many(xs, [], 3, 32) == []


# --- error paths: C entry points -------------------------------------------


def _u64(values):
    arr = np.array(values, dtype=np.uint64)
    return arr, ffi.from_buffer("uint64_t[]", arr)


def test_c_split_status_codes():
    """The C split validates pointers, threshold, points and lengths, and zeroes out on error."""
    _, xs = _u64([1, 2, 3])
    _, dup = _u64([1, 2, 1])
    _, zero = _u64([1, 0, 3])
    _, big = _u64([1, P, 3])
    lens = ffi.new("size_t[]", [32])
    zlen = ffi.new("size_t[]", [0])
    secret = ffi.new("uint8_t[]", 32)
    rand = ffi.new("uint8_t[]", 80)
    out = ffi.new("uint8_t[]", 120)

    def split(t=2, x=xs, n_x=3, r_len=40, o_len=120, lens_=lens, r=rand, s=secret, o=out):
        ffi.memmove(out, b"\xaa" * 120, 120)
        return lib.secagg_shamir_split(s, lens_, 1, t, x, n_x, r, r_len, o, o_len)

    assert split() == lib.SECAGG_OK
    assert split(t=0) == lib.SECAGG_ERR_THRESHOLD
    assert split(t=4) == lib.SECAGG_ERR_THRESHOLD
    assert bytes(ffi.buffer(out, 120)) == bytes(120)  # zeroed, not half-written
    assert split(x=dup) == lib.SECAGG_ERR_DUPLICATE_X
    assert split(x=zero) == lib.SECAGG_ERR_ZERO_X
    assert split(x=big) == lib.SECAGG_ERR_ZERO_X
    assert split(r_len=41) == lib.SECAGG_ERR_LENGTH
    assert split(o_len=119) == lib.SECAGG_ERR_LENGTH
    assert split(lens_=zlen, r_len=0, o_len=0) == lib.SECAGG_ERR_LENGTH
    assert split(r=ffi.NULL) == lib.SECAGG_ERR_NULL
    assert split(s=ffi.NULL) == lib.SECAGG_ERR_NULL
    assert split(x=ffi.NULL) == lib.SECAGG_ERR_NULL
    assert split(o=ffi.NULL) == lib.SECAGG_ERR_NULL
    huge = ffi.new("size_t[]", [2**62])
    assert split(lens_=huge) == lib.SECAGG_ERR_LENGTH
    assert split(lens_=ffi.new("size_t[]", [2**64 - 1])) == lib.SECAGG_ERR_OVERFLOW


def test_c_reconstruct_and_decode_status_codes():
    """The C reconstruction and decoder refuse bad input with the right status codes."""
    secret = os.urandom(32)
    xs_list = [1, 2, 3]
    blob = b"".join(shamir.split([secret], 2, xs_list)[0])
    _, xs = _u64(xs_list)
    _, dup = _u64([1, 1, 3])
    shares = ffi.from_buffer("uint8_t[]", blob)
    out = ffi.new("uint8_t[]", 32)
    wrong = ffi.new("uint8_t[]", 3)

    def rec(t=2, n=3, x=xs, s_len=120, o_len=32, s=shares, sl=32):
        return lib.secagg_shamir_reconstruct(x, n, t, s, s_len, 1, sl, out, o_len)

    assert rec() == lib.SECAGG_OK and bytes(ffi.buffer(out, 32)) == secret
    assert rec(t=0) == lib.SECAGG_ERR_THRESHOLD
    assert rec(t=4) == lib.SECAGG_ERR_TOO_FEW
    assert rec(s_len=119) == lib.SECAGG_ERR_LENGTH
    assert rec(o_len=31) == lib.SECAGG_ERR_LENGTH
    assert rec(sl=0) == lib.SECAGG_ERR_LENGTH
    assert rec(x=dup) == lib.SECAGG_ERR_DUPLICATE_X
    assert rec(x=ffi.NULL) == lib.SECAGG_ERR_NULL
    assert rec(s=ffi.NULL) == lib.SECAGG_ERR_NULL
    bad = ffi.from_buffer("uint8_t[]", b"\xff" * 8 + blob[8:])
    assert rec(s=bad) == lib.SECAGG_ERR_RANGE
    assert bytes(ffi.buffer(out, 32)) == bytes(32)

    def dec(t=2, h=3, x=xs, s_len=120, s=shares, w_len=3):
        return lib.secagg_rs_decode(x, h, t, s, s_len, 32, out, 32, wrong, w_len)

    assert dec() == lib.SECAGG_OK and bytes(ffi.buffer(out, 32)) == secret
    assert dec(t=0) == lib.SECAGG_ERR_THRESHOLD
    assert dec(t=4) == lib.SECAGG_ERR_TOO_FEW
    assert dec(s_len=121) == lib.SECAGG_ERR_LENGTH
    assert dec(w_len=2) == lib.SECAGG_ERR_LENGTH
    assert dec(x=dup) == lib.SECAGG_ERR_DUPLICATE_X
    assert dec(s=bad) == lib.SECAGG_ERR_RANGE
    assert dec(x=ffi.NULL) == lib.SECAGG_ERR_NULL
    assert dec(h=2**63) == lib.SECAGG_ERR_OVERFLOW
    assert rec(n=3, t=2) == lib.SECAGG_OK
    assert (
        lib.secagg_shamir_reconstruct(xs, 3, 2, shares, 120, 2**61, 32, out, 32)
        == lib.SECAGG_ERR_OVERFLOW
    )
    assert lib.secagg_shamir_lagrange_at_zero(xs, 0, ffi.new("uint64_t[]", 1)) == (
        lib.SECAGG_ERR_LENGTH
    )
    assert lib.secagg_gf61_vec(lib.SECAGG_GF61_ADD, xs, ffi.NULL, ffi.new("uint64_t[]", 3), 3) == (
        lib.SECAGG_ERR_NULL
    )


# --- the teaching command --------------------------------------------------


def test_teach_shamir_command_runs(capsys):
    """`python -m secagg shamir` recovers the secret from t shares and shows t-1 do not."""
    from secagg.__main__ import main

    assert main(["shamir", "--secret", "attack at dawn", "-t", "3", "-n", "5"]) == 0
    out = capsys.readouterr().out
    assert "attack at dawn" in out
    assert len(re.findall(r"^  holder \d: ", out, re.M)) == 5
    assert "recovery from holders" in out.lower()
    assert "t - 1 = 2" in out


def test_teach_shamir_command_rejects_bad_parameters(capsys):
    """The walk-through refuses t > n and t < 2 with a message, exit status 2."""
    from secagg.__main__ import main

    assert main(["shamir", "--secret", "x", "-t", "6", "-n", "5"]) == 2
    assert main(["shamir", "--secret", "x", "-t", "1", "-n", "5"]) == 2
    assert "error" in capsys.readouterr().err.lower()


def test_module_docstring_example():
    """The usage example in secagg.shamir's docstring runs as written."""
    import doctest

    result = doctest.testmod(shamir, verbose=False)
    assert result.attempted >= 2 and result.failed == 0

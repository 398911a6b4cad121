"""Packing: slot sums equal numpy sums, headroom and fit rules, offset encoding."""

from __future__ import annotations

import pytest

pytest.importorskip("phe")
pytest.importorskip("gmpy2")

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from paillier_support import encryptor, private_key  # noqa: E402

from secagg.encoding import from_ring_centred, to_ring  # noqa: E402
from secagg.exceptions import InvalidInputError  # noqa: E402
from secagg.paillier.packing import PackingLayout  # noqa: E402


def _signed_inputs(rng: np.random.Generator, n: int, m: int, b: int) -> list[np.ndarray]:
    """n signed vectors whose every coordinate sum stays in the centred b-bit range."""
    bound = max(((1 << (b - 1)) - 1) // n, 0)
    return [rng.integers(-bound, bound, size=m, endpoint=True, dtype=np.int64) for _ in range(n)]


def _exact_sum(inputs: list[np.ndarray]) -> list[int]:
    return [sum(int(x[j]) for x in inputs) for j in range(inputs[0].size)]


@settings(max_examples=60)
@given(
    bits=st.integers(1, 64),
    n=st.integers(1, 40),
    extra=st.integers(0, 1000),
    m=st.integers(1, 70),
    key_bits=st.sampled_from([512, 1024, 2048]),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_plaintext_sums_equal_numpy_sums(
    bits: int, n: int, extra: int, m: int, key_bits: int, seed: int
) -> None:
    """Summed packed plaintexts unpack to the exact sum of signed inputs, for any n, b, |N|."""
    layout = PackingLayout(key_bits, bits, n + extra, m)
    inputs = _signed_inputs(np.random.default_rng(seed), n, m, bits)
    packed = [layout.pack(to_ring(x, bits)) for x in inputs]
    total = [sum(column) for column in zip(*packed, strict=True)]
    assert all(t.bit_length() <= key_bits - 1 for t in total)
    words = layout.unpack_sum(total, n)
    assert words.dtype == (np.uint32 if bits <= 32 else np.uint64)
    assert from_ring_centred(words, bits).tolist() == _exact_sum(inputs)


def _encrypted_sum(n: int, bits: int, key_bits: int, seed: int) -> None:
    key = private_key(key_bits)
    n2 = key.public_key.n_square
    layout = PackingLayout(key_bits, bits, n, 3 * PackingLayout(key_bits, bits, n, 1).slots - 1)
    inputs = _signed_inputs(np.random.default_rng(seed), n, layout.length, bits)
    product: list = []
    for x in inputs:
        cts, _ = encryptor(key_bits).encrypt_many(layout.pack(to_ring(x, bits)))
        product = cts if not product else [a * c % n2 for a, c in zip(product, cts, strict=True)]
    assert len(product) == 3
    words = layout.unpack_sum([key.decrypt(c) for c in product], n)
    assert from_ring_centred(words, bits).tolist() == _exact_sum(inputs)


@settings(max_examples=25)
@given(
    n=st.integers(1, 8),
    bits=st.integers(1, 64),
    key_bits=st.sampled_from([512, 1024]),
    seed=st.integers(0, 2**32 - 1),
)
def test_encrypted_packed_sums_equal_numpy_sums(
    n: int, bits: int, key_bits: int, seed: int
) -> None:
    """Encrypt, multiply, decrypt and unpack: the exact sum of random signed inputs."""
    _encrypted_sum(n, bits, key_bits, seed)


def test_encrypted_packed_sums_at_2048_bits() -> None:
    """The same at the production key size, b = 32 and b = 64."""
    _encrypted_sum(3, 32, 2048, 1)
    _encrypted_sum(5, 64, 2048, 2)


@pytest.mark.parametrize(
    ("key_bits", "bits", "n_max", "slots"),
    [
        (2048, 32, 1000, 48),
        (2048, 32, 3, 60),
        (2048, 16, 2, 120),
        (512, 64, 2, 7),
        (1024, 8, 256, 63),
    ],
)
def test_slots_per_plaintext_follow_the_headroom_rule(
    key_bits: int, bits: int, n_max: int, slots: int
) -> None:
    """k = floor((|N| - 1) / (b + ceil(log2 n_max))) slots per plaintext."""
    layout = PackingLayout(key_bits, bits, n_max, 10)
    assert layout.headroom == (n_max - 1).bit_length()
    assert layout.slots == slots
    assert n_max * ((1 << bits) - 1) < 1 << layout.slot_bits


def test_layout_that_does_not_fit_names_the_numbers() -> None:
    """A slot wider than a plaintext is refused with b, the headroom and |N| in the message."""
    with pytest.raises(InvalidInputError, match=r"64 \+ 450 = 514 bits.*512-bit modulus.*511"):
        PackingLayout(512, 64, 2**450, 1)


def test_overflow_is_refused() -> None:
    """Words >= 2^b, the wrong dtype or length, and more than n_max summands are refused."""
    layout = PackingLayout(512, 8, 4, 5)
    with pytest.raises(InvalidInputError, match="not in Z_2\\^8"):
        layout.pack(np.array([1, 2, 256, 3, 4], dtype=np.uint32))
    with pytest.raises(InvalidInputError, match="unsigned"):
        layout.pack(np.array([1, 2, 3, 4, 5], dtype=np.int32))
    with pytest.raises(InvalidInputError, match="5 words"):
        layout.pack(np.zeros(6, dtype=np.uint32))
    with pytest.raises(InvalidInputError, match="5 packed vectors could carry.*n_max = 4"):
        layout.check_contributors(5)
    with pytest.raises(InvalidInputError, match="n_max = 4"):
        layout.unpack_sum(layout.pack(np.zeros(5, dtype=np.uint32)), 5)


def test_slot_sums_hold_the_exact_sum_not_the_count_of_negatives() -> None:
    """Offset slots: inputs with equal sums but different signs give the same packed sum."""
    layout = PackingLayout(512, 8, 2, 3)
    a = [to_ring(np.array(v), 8) for v in ([5, -7, 0], [-3, 9, 0])]
    b = [to_ring(np.array(v), 8) for v in ([1, 1, 0], [1, 1, 0])]
    sum_a = [x + y for x, y in zip(*(layout.pack(v) for v in a), strict=True)]
    sum_b = [x + y for x, y in zip(*(layout.pack(v) for v in b), strict=True)]
    assert sum_a == sum_b
    assert layout.slot_sums(sum_a) == [2 + 2 * 128, 2 + 2 * 128, 2 * 128]


def test_unused_slots_of_the_last_plaintext_are_zero() -> None:
    """Padding slots beyond m carry no value (no offset either)."""
    layout = PackingLayout(512, 16, 3, 30)
    packed = layout.pack(np.full(30, 7, dtype=np.uint32))
    used = 30 - (layout.plaintexts - 1) * layout.slots
    assert packed[-1] >> (used * layout.slot_bits) == 0

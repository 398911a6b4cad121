"""Safe primes, keys, the size policy, big-integer helpers and phe interoperability."""

from __future__ import annotations

import pickle

import pytest

pytest.importorskip("phe")
gmpy2 = pytest.importorskip("gmpy2")

import numpy as np  # noqa: E402
import phe  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from paillier_support import encryptor, primes, private_key  # noqa: E402

from secagg.exceptions import InvalidInputError, MalformedMessageError  # noqa: E402
from secagg.paillier import Encryptor, PrivateKey, PublicKey, generate_keypair  # noqa: E402
from secagg.paillier._bigint import FixedBase, multi_pow, random_below  # noqa: E402
from secagg.paillier.packing import PackingLayout  # noqa: E402
from secagg.paillier.primes import (  # noqa: E402
    generate_safe_prime,
    is_safe_prime,
    miller_rabin,
)


@pytest.mark.parametrize("bits", [512, 1024, 2048])
def test_cached_primes_are_safe_primes_by_gmp(bits: int) -> None:
    """The cached test primes p, q and (p-1)/2, (q-1)/2 pass GMP's own BPSW test."""
    for p in primes(bits):
        assert p.bit_length() == bits // 2
        assert gmpy2.is_prime(p) and gmpy2.is_prime((p - 1) // 2)
        assert is_safe_prime(p)


@pytest.mark.parametrize("bits", [64, 128, 256])
def test_generated_safe_primes_have_exact_length_and_top_bits(bits: int) -> None:
    """generate_safe_prime returns a safe prime of exactly `bits` bits, top two bits set."""
    p = int(generate_safe_prime(bits))
    assert p.bit_length() == bits and p >> (bits - 2) == 3
    assert gmpy2.is_prime(p) and gmpy2.is_prime((p - 1) // 2)


def test_miller_rabin_rejects_strong_pseudoprimes() -> None:
    """Random-base Miller-Rabin rejects Carmichael numbers and base-2 strong pseudoprimes."""
    for n in (561, 1105, 2047, 3215031751, 3825123056546413051, (2**61 - 1) * (2**31 - 1)):
        assert not miller_rabin(n)
    for n in (2**61 - 1, 2**127 - 1, 2**521 - 1):
        assert miller_rabin(n)


def test_non_safe_primes_are_refused() -> None:
    """A prime that is not safe (its (p-1)/2 is composite) is refused for a key."""
    p, q = primes(512)
    not_safe = int(gmpy2.next_prime(q))
    while gmpy2.is_prime((not_safe - 1) // 2):
        not_safe = int(gmpy2.next_prime(not_safe))
    with pytest.raises(InvalidInputError, match="not a safe prime"):
        PrivateKey.from_primes(p, not_safe, insecure_testing=True)
    with pytest.raises(InvalidInputError, match="different"):
        PrivateKey.from_primes(p, p, insecure_testing=True)


def test_size_policy_refuses_small_moduli_without_the_testing_flag() -> None:
    """N < 2048 bits is refused unless insecure_testing; 2048 bits needs no flag."""
    with pytest.raises(InvalidInputError, match="at least 2048 bits, got 1024.*insecure_testing"):
        generate_keypair(1024)
    p, q = primes(1024)
    with pytest.raises(InvalidInputError, match="at least 2048"):
        PrivateKey.from_primes(p, q)
    small = private_key(1024).public_key
    with pytest.raises(InvalidInputError, match="at least 2048"):
        PublicKey.from_bytes(small.to_bytes())
    with pytest.raises(InvalidInputError, match="at least 512"):
        generate_keypair(256, insecure_testing=True)
    assert PublicKey.from_bytes(private_key(2048).public_key.to_bytes()).bits == 2048


def test_generated_key_decrypts_its_own_encryptions() -> None:
    """A freshly generated (512-bit, testing) key pair round-trips plaintexts."""
    key = generate_keypair(512, insecure_testing=True)
    pk = key.public_key
    assert pk.bits == 512
    enc = Encryptor(pk)
    for m in (0, 1, int(pk.n) - 1, int(random_below(pk.n))):
        c = enc.encrypt(m, random_below(1 << pk.randomness_bits))
        assert key.decrypt(c) == m


def test_public_key_encoding_round_trips_and_is_strict() -> None:
    """PublicKey bytes round-trip; truncation, a trailing byte or a wrong type byte are refused."""
    pk = private_key(512).public_key
    data = pk.to_bytes()
    assert PublicKey.from_bytes(data, insecure_testing=True) == pk
    assert len(data) == 6 + 2 + 3 * pk.nbytes
    for bad in (data[:-1], data + b"\x00", data[:5] + b"\x03" + data[6:], b"XXXX" + data[4:]):
        with pytest.raises(MalformedMessageError):
            PublicKey.from_bytes(bad, insecure_testing=True)


def test_private_key_neither_pickles_nor_shows_secrets() -> None:
    """A PrivateKey refuses pickling and its repr holds no factor."""
    key = private_key(512)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    p, _ = primes(512)
    assert format(p, "x") not in repr(key) and str(p) not in repr(key)


@pytest.mark.parametrize("bits", [1024, 2048])
def test_packed_ciphertexts_decrypt_with_phe_private_key(bits: int) -> None:
    """phe's own PaillierPrivateKey decrypts our packed ciphertexts to the packed plaintexts."""
    pk = private_key(bits).public_key
    p, q = primes(bits)
    theirs = phe.PaillierPrivateKey(phe.PaillierPublicKey(int(pk.n)), p, q)
    layout = PackingLayout(bits, 32, 3, 150)
    words = np.random.default_rng(bits).integers(0, 2**32, 150, dtype=np.uint64).astype(np.uint32)
    plaintexts = layout.pack(words)
    assert layout.plaintexts >= 2
    ciphertexts, _ = encryptor(bits).encrypt_many(plaintexts)
    assert [theirs.raw_decrypt(int(c)) for c in ciphertexts] == [int(m) for m in plaintexts]
    # And the other way: phe's encryption decrypts with our key.
    ours = private_key(bits)
    assert ours.decrypt(phe.PaillierPublicKey(int(pk.n)).raw_encrypt(12345)) == 12345


def test_ciphertexts_have_jacobi_symbol_one() -> None:
    """Encryption randomness lies in J_N: every ciphertext has Jacobi symbol 1 modulo N."""
    pk = private_key(512).public_key
    cts, _ = encryptor(512).encrypt_many(list(range(20)))
    assert all(gmpy2.jacobi(c % pk.n, pk.n) == 1 for c in cts)


@settings(max_examples=30)
@given(st.lists(st.integers(0, 2**300 - 1), min_size=1, max_size=8))
def test_fixed_base_matches_powmod(exponents: list[int]) -> None:
    """FixedBase.pow(e) equals gmpy2.powmod(base, e, modulus)."""
    modulus = gmpy2.mpz(primes(512)[0]) * primes(512)[1]
    table = FixedBase(7, modulus, 300, window=5)
    for e in exponents:
        assert table.pow(e) == gmpy2.powmod(7, e, modulus)


def test_fixed_base_refuses_long_exponents() -> None:
    """An exponent longer than the table covers is refused, not silently truncated."""
    table = FixedBase(3, 1000003, 20)
    with pytest.raises(InvalidInputError, match="2\\^20"):
        table.pow(1 << 20)


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(1, 2**64), st.integers(0, 2**140)), max_size=40))
def test_multi_pow_matches_product_of_powmods(pairs: list[tuple[int, int]]) -> None:
    """multi_pow equals the product of the individual powmods (Pippenger's buckets)."""
    modulus = gmpy2.mpz(primes(512)[0]) ** 2
    expected = gmpy2.mpz(1)
    for b, e in pairs:
        expected = expected * gmpy2.powmod(b, e, modulus) % modulus
    assert multi_pow([b for b, _ in pairs], [e for _, e in pairs], modulus) == expected

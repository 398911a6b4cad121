"""Tests for secagg.crypto: RFC vectors, backend equivalence, strict checks, encodings."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg import crypto
from secagg.exceptions import InvalidInputError, ProtocolViolationError

DATA = Path(__file__).parent / "data"
VECTORS = json.loads((DATA / "rfc_curve_vectors.json").read_text())
BACKENDS = crypto.available_backends()
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493

both = pytest.mark.skipif(len(BACKENDS) < 2, reason="needs both pycryptodome and cryptography")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> crypto.CryptoBackend:
    return crypto.get_backend(request.param)


def _x25519_reference(scalar: bytes, u_bytes: bytes) -> bytes:
    """RFC 7748 §5 Montgomery ladder in plain Python (independent reference)."""
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    kk = int.from_bytes(k, "little")
    u = int.from_bytes(u_bytes, "little") & ((1 << 255) - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        bit = (kk >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + 121665 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


# ------------------------------------------------------------------ RFC vectors


def test_rfc7748_function_vectors(backend: crypto.CryptoBackend) -> None:
    """The raw X25519 function of each backend matches RFC 7748 §5.2 (and the reference)."""
    for v in VECTORS["x25519_function"]:
        scalar, u = bytes.fromhex(v["scalar"]), bytes.fromhex(v["u"])
        assert backend._p.x25519(scalar, u).hex() == v["output"], v["ref"]
        assert _x25519_reference(scalar, u).hex() == v["output"], v["ref"]


def test_rfc7748_iterated(backend: crypto.CryptoBackend) -> None:
    """1 and 1000 iterations of k, u = X25519(k, u), k give RFC 7748 §5.2's values."""
    k = u = (9).to_bytes(32, "little")
    want = {v["iterations"]: v["output"] for v in VECTORS["x25519_iterated"]}
    for i in range(1, 1001):
        k, u = backend._p.x25519(k, u), k
        if i in want:
            assert k.hex() == want[i]


def test_rfc7748_diffie_hellman(backend: crypto.CryptoBackend) -> None:
    """Public keys and the shared secret of RFC 7748 §6.1 through the public API."""
    v = VECTORS["x25519_dh"]
    a, b = bytes.fromhex(v["alice_private"]), bytes.fromhex(v["bob_private"])
    assert backend.x25519_public(a).hex() == v["alice_public"]
    assert backend.x25519_public(b).hex() == v["bob_public"]
    assert backend.x25519_shared(a, bytes.fromhex(v["bob_public"])).hex() == v["shared"]
    assert backend.x25519_shared(b, bytes.fromhex(v["alice_public"])).hex() == v["shared"]


def test_rfc7748_vector2_input_is_refused_as_noncanonical(backend: crypto.CryptoBackend) -> None:
    """The §5.2 vector-2 input u has bit 255 set, which PROTOCOL §4 refuses."""
    v = VECTORS["x25519_function"][1]
    with pytest.raises(ProtocolViolationError, match="bit 255"):
        backend.x25519_shared(bytes.fromhex(v["scalar"]), bytes.fromhex(v["u"]))


def test_rfc8032_vectors(backend: crypto.CryptoBackend) -> None:
    """Ed25519 keys, signatures and verification match RFC 8032 §7.1 TEST 1-3."""
    for v in VECTORS["ed25519"]:
        sk, msg = bytes.fromhex(v["secret"]), bytes.fromhex(v["message"])
        assert backend.ed25519_public(sk).hex() == v["public"], v["ref"]
        assert backend.ed25519_sign(sk, msg).hex() == v["signature"], v["ref"]
        assert backend.ed25519_verify(
            bytes.fromhex(v["public"]), msg, bytes.fromhex(v["signature"])
        )
        assert not backend.ed25519_verify(
            bytes.fromhex(v["public"]), msg + b"!", bytes.fromhex(v["signature"])
        )


def test_hkdf_rfc5869_vectors() -> None:
    """hkdf_sha256 matches RFC 5869 A.1 and A.3 (empty salt and info)."""
    okm = crypto.hkdf_sha256(bytes([0x0B] * 22), bytes(range(13)), bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    okm = crypto.hkdf_sha256(bytes([0x0B] * 22), b"", b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_hkdf_rejects_bad_length() -> None:
    """HKDF output lengths outside 1..8160 are refused."""
    for length in (0, -1, 255 * 32 + 1, True):
        with pytest.raises(InvalidInputError):
            crypto.hkdf_sha256(b"k", b"", b"", length)


# ------------------------------------------------------------------ X25519 keys


def test_small_order_list_gives_zero_secret() -> None:
    """Every listed small-order u gives an all-zero X25519 output (reference ladder)."""
    for u in crypto.SMALL_ORDER_X25519:
        for _ in range(3):
            assert _x25519_reference(os.urandom(32), u.to_bytes(32, "little")) == bytes(32)


def test_small_order_and_noncanonical_keys_refused(backend: crypto.CryptoBackend) -> None:
    """check_public_key and x25519_shared refuse small-order and non-canonical keys."""
    sk = os.urandom(32)
    small = [u.to_bytes(32, "little") for u in crypto.SMALL_ORDER_X25519]
    for pk in small:
        with pytest.raises(ProtocolViolationError, match="small-order"):
            crypto.check_public_key(pk)
        with pytest.raises(ProtocolViolationError):
            backend.x25519_shared(sk, pk)
    # p, p + 1 and 2^255 - 1 are >= p; the bit-255 variants of the small-order list too.
    high = [(P + i).to_bytes(32, "little") for i in (0, 1, 18)]
    high += [(u | 1 << 255).to_bytes(32, "little") for u in crypto.SMALL_ORDER_X25519]
    for pk in high:
        with pytest.raises(ProtocolViolationError, match="not canonical"):
            crypto.check_public_key(pk)
        with pytest.raises(ProtocolViolationError, match="not canonical"):
            backend.x25519_shared(sk, pk)
    for pk in (b"", bytes(31), bytes(33), "x" * 32):
        with pytest.raises(ProtocolViolationError, match="32 bytes"):
            crypto.check_public_key(pk)


def test_valid_key_accepted() -> None:
    """A freshly generated public key passes check_public_key."""
    _, pk = crypto.x25519_keypair()
    crypto.check_public_key(pk)


def test_keypair_secret_is_unclamped_draw(backend: crypto.CryptoBackend) -> None:
    """x25519_keypair returns the 32 bytes exactly as drawn, not clamped."""
    sk, pk = backend.x25519_keypair(rng=lambda n: b"\xff" * n)
    assert sk == b"\xff" * 32
    assert pk == _x25519_reference(sk, (9).to_bytes(32, "little"))


def test_keypair_rng_output_checked() -> None:
    """An injected rng that returns the wrong length is refused."""
    with pytest.raises(InvalidInputError, match="32 bytes"):
        crypto.x25519_keypair(rng=lambda n: bytes(n - 1))
    with pytest.raises(InvalidInputError, match="32 bytes"):
        crypto.ed25519_keypair(rng=lambda n: bytes(n + 1))


def test_keypair_default_is_random() -> None:
    """Two default key pairs differ (the OS CSPRNG is used)."""
    assert crypto.x25519_keypair()[0] != crypto.x25519_keypair()[0]
    assert crypto.ed25519_keypair()[0] != crypto.ed25519_keypair()[0]


def test_private_key_length_checked(backend: crypto.CryptoBackend) -> None:
    """Private keys and seeds of the wrong length are InvalidInputError."""
    _, pk = backend.x25519_keypair()
    for fn, args in (
        (backend.x25519_public, (bytes(31),)),
        (backend.x25519_shared, (bytes(33), pk)),
        (backend.ed25519_public, (bytes(31),)),
        (backend.ed25519_sign, (bytes(31), b"m")),
    ):
        with pytest.raises(InvalidInputError, match="32 bytes"):
            fn(*args)


@settings(max_examples=40)
@given(a=st.binary(min_size=32, max_size=32), b=st.binary(min_size=32, max_size=32))
def test_x25519_matches_reference(a: bytes, b: bytes) -> None:
    """Every backend's public keys and shared secrets equal the reference ladder."""
    base = (9).to_bytes(32, "little")
    pa, pb = _x25519_reference(a, base), _x25519_reference(b, base)
    expected = _x25519_reference(a, pb)
    for name in BACKENDS:
        be = crypto.get_backend(name)
        assert be.x25519_public(a) == pa
        assert be.x25519_shared(a, pb) == expected == be.x25519_shared(b, pa)


@settings(max_examples=30)
@given(
    sk=st.binary(min_size=32, max_size=32),
    peers=st.lists(st.binary(min_size=32, max_size=32), min_size=0, max_size=6),
    sid=st.binary(min_size=32, max_size=32),
)
def test_loaded_key_equals_x25519_shared(sk: bytes, peers: list[bytes], sid: bytes) -> None:
    """A loaded key, shared_many and the loaded channel key equal x25519_shared per peer."""
    for name in BACKENDS:
        be = crypto.get_backend(name)
        pks = [be.x25519_public(p) for p in peers]
        expected = [be.x25519_shared(sk, pk) for pk in pks]
        key = be.x25519_load(sk)
        assert [key.shared(pk) for pk in pks] == expected
        assert key.shared_many(pks) == expected == be.x25519_shared_many(sk, pks)
        assert [key.channel_key(pk, sid) for pk in pks] == [
            be.channel_key(sk, pk, sid) for pk in pks
        ]


@both
@settings(max_examples=30)
@given(
    sk=st.binary(min_size=32, max_size=32),
    peers=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4),
)
def test_loaded_key_backends_identical(sk: bytes, peers: list[bytes]) -> None:
    """Both backends' loaded keys give byte-identical secrets for the same peers."""
    a, b = (crypto.get_backend(n) for n in ("cryptography", "pycryptodome"))
    pks = [a.x25519_public(p) for p in peers]
    assert a.x25519_shared_many(sk, pks) == b.x25519_shared_many(sk, pks)
    assert a.x25519_load(sk).shared_many(pks) == b.x25519_load(sk).shared_many(pks)


def test_loaded_key_refuses_as_x25519_shared(backend: crypto.CryptoBackend) -> None:
    """A loaded key refuses the keys x25519_shared refuses, with the same exception and text."""
    sk = os.urandom(32)
    key = backend.x25519_load(sk)
    _, good = backend.x25519_keypair()
    bad = [u.to_bytes(32, "little") for u in crypto.SMALL_ORDER_X25519]
    bad += [(P + i).to_bytes(32, "little") for i in (0, 1, 18)]
    bad += [bytes(31), bytes(33)]
    for pk in bad:
        with pytest.raises(ProtocolViolationError) as want:
            backend.x25519_shared(sk, pk)
        with pytest.raises(ProtocolViolationError) as got:
            key.shared(pk)
        assert str(got.value) == str(want.value)
        with pytest.raises(ProtocolViolationError) as many:
            backend.x25519_shared_many(sk, [good, pk, good])
        assert str(many.value) == str(want.value)
    with pytest.raises(InvalidInputError, match="32 bytes"):
        backend.x25519_load(bytes(31))
    with pytest.raises(InvalidInputError, match="32 bytes"):
        key.channel_key(good, bytes(31))


def test_loaded_key_all_zero_refused(
    backend: crypto.CryptoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An all-zero result from the library is refused by a loaded key as by x25519_shared."""
    sk = os.urandom(32)
    _, pk = backend.x25519_keypair()
    monkeypatch.setattr(backend._p, "x25519_with", lambda key, peer: bytes(32))
    with pytest.raises(ProtocolViolationError, match="all zero"):
        backend.x25519_shared(sk, pk)
    with pytest.raises(ProtocolViolationError, match="all zero"):
        backend.x25519_load(sk).shared(pk)
    with pytest.raises(ProtocolViolationError, match="all zero"):
        backend.x25519_shared_many(sk, [pk])


def test_loaded_key_not_pickled_nor_shown() -> None:
    """A loaded key refuses pickling and its repr shows no key material."""
    import pickle

    key = crypto.x25519_load(bytes(range(32)))
    assert "backend" in repr(key) and bytes(range(32)).hex() not in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


# ------------------------------------------------------------------ backends agree


@both
@settings(max_examples=60)
@given(
    seed=st.binary(min_size=32, max_size=32),
    peer=st.binary(min_size=32, max_size=32),
    sid=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    msg=st.binary(max_size=200),
    aad=st.binary(max_size=64),
)
def test_backends_byte_identical(
    seed: bytes, peer: bytes, sid: bytes, nonce: bytes, msg: bytes, aad: bytes
) -> None:
    """Both backends give identical keys, secrets, channel keys, ciphertexts and signatures."""
    a, b = (crypto.get_backend(n) for n in ("cryptography", "pycryptodome"))
    assert a.x25519_public(seed) == b.x25519_public(seed)
    peer_pk = a.x25519_public(peer)
    assert a.x25519_shared(seed, peer_pk) == b.x25519_shared(seed, peer_pk)
    key = a.channel_key(seed, peer_pk, sid)
    assert (
        key == b.channel_key(seed, peer_pk, sid) == b.channel_key(peer, a.x25519_public(seed), sid)
    )
    ct = a.aes_gcm_encrypt(key, msg, aad, nonce=nonce)
    assert ct == b.aes_gcm_encrypt(key, msg, aad, nonce=nonce)
    assert len(ct) == 12 + len(msg) + 16
    assert a.ed25519_public(seed) == b.ed25519_public(seed)
    sig = a.ed25519_sign(seed, msg)
    assert sig == b.ed25519_sign(seed, msg)


@both
def test_backends_interoperate() -> None:
    """Encrypt with one backend, decrypt with the other; sign with one, verify with the other."""
    a, b = (crypto.get_backend(n) for n in ("cryptography", "pycryptodome"))
    sid = os.urandom(32)
    for x, y in ((a, b), (b, a)):
        sk_u, pk_u = x.x25519_keypair()
        sk_v, pk_v = y.x25519_keypair()
        k_u, k_v = x.channel_key(sk_u, pk_v, sid), y.channel_key(sk_v, pk_u, sid)
        assert k_u == k_v
        aad = sid + struct.pack(">II", 1, 2)
        pt = os.urandom(80)
        assert y.aes_gcm_decrypt(k_v, x.aes_gcm_encrypt(k_u, pt, aad), aad) == pt
        seed, vk = x.ed25519_keypair()
        assert y.ed25519_verify(vk, b"msg", x.ed25519_sign(seed, b"msg"))
        assert not y.ed25519_verify(vk, b"msh", x.ed25519_sign(seed, b"msg"))


def test_channel_key_definition(backend: crypto.CryptoBackend) -> None:
    """channel_key = HKDF(X25519, salt = session id, info = "secagg/v1/enc", 32 bytes)."""
    sk, _ = backend.x25519_keypair()
    _, pk = backend.x25519_keypair()
    sid = os.urandom(32)
    shared = _x25519_reference(sk, pk)
    assert backend.channel_key(sk, pk, sid) == crypto.hkdf_sha256(shared, sid, b"secagg/v1/enc", 32)
    with pytest.raises(InvalidInputError, match="session_id"):
        backend.channel_key(sk, pk, sid[:31])


# ------------------------------------------------------------------ AES-GCM


def test_gcm_tamper_detected(backend: crypto.CryptoBackend) -> None:
    """Flipping any byte of nonce, ciphertext or tag, or changing the aad, fails to open."""
    key, aad = os.urandom(32), b"associated"
    ct = backend.aes_gcm_encrypt(key, b"p" * 80, aad)
    assert backend.aes_gcm_decrypt(key, ct, aad) == b"p" * 80
    for i in (0, 11, 12, 50, len(ct) - 16, len(ct) - 1):
        bad = bytearray(ct)
        bad[i] ^= 1
        with pytest.raises(ProtocolViolationError, match="tag"):
            backend.aes_gcm_decrypt(key, bytes(bad), aad)
    with pytest.raises(ProtocolViolationError, match="tag"):
        backend.aes_gcm_decrypt(key, ct, aad + b"x")
    with pytest.raises(ProtocolViolationError, match="tag"):
        backend.aes_gcm_decrypt(os.urandom(32), ct, aad)
    with pytest.raises(ProtocolViolationError, match="shorter"):
        backend.aes_gcm_decrypt(key, ct[:27], aad)


def test_gcm_detached_nonce_gives_the_same_bytes_and_reads_views(
    backend: crypto.CryptoBackend,
) -> None:
    """aes_gcm_seal/open are aes_gcm_encrypt/decrypt with the nonce apart, views read in place."""
    key, nonce, aad = os.urandom(32), os.urandom(12), b"aad"
    pt = bytearray(os.urandom(1000))
    whole = backend.aes_gcm_encrypt(key, bytes(pt), aad, nonce=nonce)
    sealed = backend.aes_gcm_seal(key, nonce, memoryview(pt)[:], aad)
    assert sealed == whole[12:]
    words = np.frombuffer(bytes(pt), dtype=np.uint32)
    assert backend.aes_gcm_seal(key, nonce, memoryview(words), aad) == sealed  # cast to bytes
    framed = b"head" + sealed
    assert backend.aes_gcm_open(key, nonce, memoryview(framed)[4:], aad) == bytes(pt)
    with pytest.raises(ProtocolViolationError, match="tag"):
        backend.aes_gcm_open(key, os.urandom(12), sealed, aad)
    with pytest.raises(ProtocolViolationError, match="shorter"):
        backend.aes_gcm_open(key, nonce, sealed[:15], aad)
    with pytest.raises(InvalidInputError, match="must be bytes"):
        backend.aes_gcm_seal(key, nonce, "text", aad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="12 bytes"):
        backend.aes_gcm_open(key, nonce[:8], sealed, aad)


def test_gcm_known_answer(backend: crypto.CryptoBackend) -> None:
    """AES-256-GCM of the NIST/McGrew-Viega test case 13 (zero key, zero nonce, empty input)."""
    out = backend.aes_gcm_encrypt(bytes(32), b"", b"", nonce=bytes(12))
    assert out[12:].hex() == "530f8afbc74536b9a963b4f1c4cb738b"
    out = backend.aes_gcm_encrypt(bytes(32), bytes(16), b"", nonce=bytes(12))
    assert out[12:].hex() == "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"


def test_gcm_random_nonce_and_argument_checks(backend: crypto.CryptoBackend) -> None:
    """Nonces are fresh per call; wrong key or nonce lengths are InvalidInputError."""
    key = os.urandom(32)
    assert (
        backend.aes_gcm_encrypt(key, b"x", b"")[:12] != backend.aes_gcm_encrypt(key, b"x", b"")[:12]
    )
    with pytest.raises(InvalidInputError, match="32 bytes"):
        backend.aes_gcm_encrypt(os.urandom(16), b"x", b"")
    with pytest.raises(InvalidInputError, match="12 bytes"):
        backend.aes_gcm_encrypt(key, b"x", b"", nonce=bytes(8))
    with pytest.raises(InvalidInputError):
        backend.aes_gcm_decrypt(key, "text", b"")  # type: ignore[arg-type]


# ------------------------------------------------------------------ Ed25519 strictness

_IDENTITY = (1).to_bytes(32, "little")
# (R = identity, S = 0) verifies under A = identity for every message: a
# canonical baseline, so each rejection below is due to the encoding alone.
_IDENTITY_SIG = _IDENTITY + bytes(32)


def _with_sign_bit(enc: bytes) -> bytes:
    out = bytearray(enc)
    out[31] |= 0x80
    return bytes(out)


def test_strict_baseline_verifies(backend: crypto.CryptoBackend) -> None:
    """The canonical identity-key signature verifies (RFC 8032 does not ban small-order A)."""
    assert backend.ed25519_verify(_IDENTITY, b"anything", _IDENTITY_SIG)


def test_strict_rejects_noncanonical_a(backend: crypto.CryptoBackend) -> None:
    """A with y >= p, or x = 0 with the sign bit set, is refused by every backend."""
    for a in ((1 + P).to_bytes(32, "little"), _with_sign_bit(_IDENTITY)):
        assert crypto.ed25519_check_encoding(a, _IDENTITY_SIG) is not None
        assert not backend.ed25519_verify(a, b"anything", _IDENTITY_SIG)


def test_strict_rejects_noncanonical_r(backend: crypto.CryptoBackend) -> None:
    """R with y >= p, or x = 0 with the sign bit set, is refused."""
    for r in ((1 + P).to_bytes(32, "little"), _with_sign_bit(_IDENTITY)):
        assert not backend.ed25519_verify(_IDENTITY, b"anything", r + bytes(32))
    minus_one = (P - 1).to_bytes(32, "little")
    assert crypto.ed25519_check_encoding(_with_sign_bit(minus_one), _IDENTITY_SIG) is not None


def test_strict_rejects_s_not_below_l(backend: crypto.CryptoBackend) -> None:
    """A valid signature with S replaced by S + L (same point equation) is refused."""
    seed, vk = backend.ed25519_keypair()
    sig = backend.ed25519_sign(seed, b"m")
    assert backend.ed25519_verify(vk, b"m", sig)
    s = int.from_bytes(sig[32:], "little")
    assert not backend.ed25519_verify(vk, b"m", sig[:32] + (s + L).to_bytes(32, "little"))
    assert not backend.ed25519_verify(_IDENTITY, b"x", _IDENTITY + L.to_bytes(32, "little"))


def test_verify_wrong_lengths_false(backend: crypto.CryptoBackend) -> None:
    """Signatures or keys of the wrong length verify False, never raise."""
    seed, vk = backend.ed25519_keypair()
    sig = backend.ed25519_sign(seed, b"m")
    assert not backend.ed25519_verify(vk, b"m", sig[:63])
    assert not backend.ed25519_verify(vk, b"m", sig + b"\0")
    assert not backend.ed25519_verify(vk[:31], b"m", sig)


def test_verify_off_curve_key_false(backend: crypto.CryptoBackend) -> None:
    """A canonical y with no curve point (y = 2 is off-curve) verifies False."""
    assert not backend.ed25519_verify((2).to_bytes(32, "little"), b"x", _IDENTITY_SIG)


# ------------------------------------------------------------------ backend selection


def _run(code: str, env_value: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(crypto.BACKEND_ENV, None)
    if env_value is not None:
        env[crypto.BACKEND_ENV] = env_value
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


def test_env_forces_backend() -> None:
    """SECAGG_CRYPTO_BACKEND=pycryptodome makes the module-level API use pycryptodome."""
    out = _run("from secagg import crypto; print(crypto.backend_name())", "pycryptodome")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pycryptodome"


def test_env_unknown_backend_named() -> None:
    """An unknown backend name fails at import with a message naming it."""
    out = _run("import secagg.crypto", "openssl")
    assert out.returncode != 0
    assert "SECAGG_CRYPTO_BACKEND='openssl'" in out.stderr


def test_env_forced_backend_missing() -> None:
    """Forcing cryptography when it cannot be imported fails with a message saying so."""
    code = "import sys; sys.modules['cryptography'] = None; import secagg.crypto"
    out = _run(code, "cryptography")
    assert out.returncode != 0
    assert "not importable" in out.stderr
    code = (
        "import sys; sys.modules['cryptography'] = None; from secagg import crypto;"
        "print(crypto.backend_name(), crypto.available_backends())"
    )
    out = _run(code, None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pycryptodome ('pycryptodome',)"


def test_get_backend_unknown() -> None:
    """get_backend refuses unknown names."""
    with pytest.raises(InvalidInputError, match="unknown crypto backend"):
        crypto.get_backend("nacl")


# ------------------------------------------------------------------ signed strings


def test_message_layouts() -> None:
    """advert, survivors, config messages and the commitment have the §4/§8 byte layouts."""
    sid, c_pk, s_pk, b_u, nonce = (os.urandom(32) for _ in range(5))
    assert crypto.advert_message(sid, 7, c_pk, s_pk) == (
        b"secagg/v1/sig/keys" + sid + b"\x00\x00\x00\x07" + c_pk + s_pk
    )
    t = os.urandom(32)
    assert crypto.survivors_message(t, b"\x05") == b"secagg/v1/sig/survivors" + t + b"\x05"
    assert crypto.config_message(nonce, b"cfg") == b"secagg/v1/sig/config" + nonce + b"cfg"
    assert (
        crypto.self_commitment(sid, 258, b_u)
        == hashlib.sha256(b"secagg/v1/commit/self" + sid + b"\x00\x00\x01\x02" + b_u).digest()
    )


def test_transcript_hash_sorted() -> None:
    """T hashes U1 in increasing id whatever the mapping's order."""
    sid = os.urandom(32)
    keys = {v: (os.urandom(32), os.urandom(32)) for v in (9, 2, 5)}
    expect = hashlib.sha256(
        b"secagg/v1/transcript"
        + sid
        + b"".join(struct.pack(">I", v) + keys[v][0] + keys[v][1] for v in (2, 5, 9))
    ).digest()
    assert crypto.transcript_hash(sid, keys) == expect
    assert crypto.transcript_hash(sid, dict(reversed(list(keys.items())))) == expect
    assert crypto.transcript_hash(sid, {v: list(p) for v, p in keys.items()}) == expect


def test_message_arguments_checked() -> None:
    """Wrong lengths and ids in signed strings are InvalidInputError."""
    sid, pk = os.urandom(32), os.urandom(32)
    bad_calls = [
        lambda: crypto.advert_message(sid[:31], 1, pk, pk),
        lambda: crypto.advert_message(sid, 0, pk, pk),
        lambda: crypto.advert_message(sid, 2**32, pk, pk),
        lambda: crypto.advert_message(sid, 1, pk[:31], pk),
        lambda: crypto.transcript_hash(sid, {1: (pk, pk[:1])}),
        lambda: crypto.transcript_hash(sid, {0: (pk, pk)}),
        lambda: crypto.survivors_message(pk[:31], b""),
        lambda: crypto.config_message(pk + b"x", b""),
        lambda: crypto.self_commitment(sid, 1, pk[:16]),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidInputError):
            call()


def test_module_functions_use_default_backend() -> None:
    """The module-level API is bound to the backend backend_name() reports."""
    default = crypto.get_backend(crypto.backend_name())
    for fn in (
        crypto.x25519_shared,
        crypto.x25519_shared_many,
        crypto.x25519_load,
        crypto.aes_gcm_encrypt,
        crypto.ed25519_verify,
    ):
        assert fn.__self__ is default  # type: ignore[attr-defined]


def test_bench_script_prints_json_lines() -> None:
    """bench/crypto_backend.py prints one JSON line per (backend, op) plus the machine line."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "bench.crypto_backend", "--repeat", "1", "--number", "1"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    ops = [x for x in lines if "op" in x]
    assert len(ops) == 8 * len(BACKENDS)
    assert all(x["us_per_op"] > 0 for x in ops)
    assert lines[-1]["machine"]["default_backend"] == crypto.backend_name()

"""Tests for secagg.prg: HKDF key derivation and the AES-128-CTR keystream.

Every keystream implementation usable here (the core's and ``openssl``) is
checked byte for byte against pycryptodome's AES-CTR, an independent
implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from Crypto.Cipher import AES
from hypothesis import given
from hypothesis import strategies as st

from secagg import _openssl, prg
from secagg.exceptions import InvalidInputError

IMPLS = prg.implementations()
DATA = Path(__file__).parent / "data"
SANITIZE = os.environ.get("HYPOTHESIS_PROFILE") == "sanitize"


def reference_keystream(key: bytes, nbytes: int, counter: int = 0) -> bytes:
    """pycryptodome AES-CTR keystream with a full 128-bit big-endian counter."""
    return AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=counter).encrypt(bytes(nbytes))


def reference_words(key: bytes, m: int, b: int) -> list[int]:
    """Element i = little-endian word i of the keystream mod 2^b (PROTOCOL.md section 2)."""
    w = 4 if b <= 32 else 8
    ks = reference_keystream(key, m * w)
    return [int.from_bytes(ks[w * i : w * i + w], "little") % (1 << b) for i in range(m)]


def test_portable_always_available_and_selected_is_supported():
    """The portable implementation is always listed and the selected one is supported."""
    assert IMPLS[-1] == "portable"
    assert len(set(IMPLS)) == len(IMPLS)
    assert prg.selected_implementation() in IMPLS
    if "SECAGG_IMPL" not in os.environ:
        assert prg.selected_implementation() == IMPLS[0]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "nbytes", [0, 1, 15, 16, 17, 127, 128, 129, 511, 513, 4095, 65535, 65537, 65551, 65552, 131069]
)
def test_keystream_matches_pycryptodome_edge_lengths(impl, nbytes):
    """Keystream equals pycryptodome's AES-CTR from counter 0 at block and batch edges."""
    key = os.urandom(16)
    assert prg.keystream(key, nbytes, impl=impl) == reference_keystream(key, nbytes)


@pytest.mark.parametrize("impl", IMPLS)
def test_keystream_matches_pycryptodome_megabytes(impl):
    """Several megabytes of odd length are byte-identical to pycryptodome."""
    nbytes = (3 << 20) + 13 if not SANITIZE else (1 << 18) + 13
    if impl == "portable" and SANITIZE:
        nbytes = (1 << 16) + 13
    key = os.urandom(16)
    assert prg.keystream(key, nbytes, impl=impl) == reference_keystream(key, nbytes)


@pytest.mark.parametrize("impl", IMPLS)
@given(
    key=st.binary(min_size=16, max_size=16),
    nbytes=st.integers(0, 3000),
    counter=st.one_of(
        st.integers(0, 2**128 - 2**20),
        st.integers(2**64 - 300, 2**64 + 10),
        st.integers(0, 2**10).map(lambda d: (7 << 64) - d),
    ),
)
def test_keystream_any_counter(impl, key, nbytes, counter):
    """Any key, length and starting counter (incl. carries across bit 64) match pycryptodome."""
    assert prg.keystream(key, nbytes, counter=counter, impl=impl) == reference_keystream(
        key, nbytes, counter
    )


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("before", [1, 5, 8, 16, 31, 32, 33, 100])
def test_counter_carry_across_bit_64(impl, before):
    """A run starting `before` blocks below 2^64 carries into the high 64 bits correctly."""
    key = os.urandom(16)
    counter = (0x0123456789ABCDEF << 64) | (2**64 - before)
    n = 16 * (before + 70) + 3
    assert prg.keystream(key, n, counter=counter, impl=impl) == reference_keystream(key, n, counter)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("bit", [32, 64, 96])
def test_counter_carry_across_words_over_several_slices(impl, bit):
    """A run of several 64 KiB slices carrying out of counter bit 32, 64 or 96 matches
    pycryptodome (OpenSSL's CTR steps the low 32 bits and carries into the rest)."""
    key = os.urandom(16)
    high = int.from_bytes(os.urandom(16), "big") >> bit << bit
    counter = (high | (2**bit - 4100)) % 2**128
    n = 3 * 65536 + 7
    assert prg.keystream(key, n, counter=counter, impl=impl) == reference_keystream(key, n, counter)


@pytest.mark.parametrize("impl", IMPLS)
def test_counter_up_to_2_128_and_no_wrap(impl):
    """The last counter block 2^128 - 1 is usable; one byte more is refused."""
    key = os.urandom(16)
    top = 2**128 - 3
    assert prg.keystream(key, 48, counter=top, impl=impl) == reference_keystream(key, 48, top)
    with pytest.raises(InvalidInputError, match="2\\^128"):
        prg.keystream(key, 49, counter=top, impl=impl)


@pytest.mark.parametrize("impl", IMPLS)
def test_nist_sp800_38a_f51(impl):
    """NIST SP 800-38A F.5.1 CTR-AES128 vector, via the starting-counter parameter."""
    vec = json.loads((DATA / "nist_sp800_38a_ctr.json").read_text())
    key = bytes.fromhex(vec["key"])
    counter = int(vec["initial_counter"], 16)
    pt = bytes.fromhex("".join(vec["plaintext"]))
    ct = bytes.fromhex("".join(vec["ciphertext"]))
    # The transcription agrees with an independent implementation.
    assert AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=counter).encrypt(pt) == ct
    ks = prg.keystream(key, len(pt), counter=counter, impl=impl)
    assert bytes(a ^ b for a, b in zip(pt, ks, strict=True)) == ct


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("b", range(1, 65))
def test_expand_every_bit_width(impl, b):
    """expand() gives word i of the keystream mod 2^b, in the right dtype, for every b."""
    key = os.urandom(16)
    m = 37
    out = prg.expand(key, m, b, impl=impl)
    assert out.dtype == (np.uint32 if b <= 32 else np.uint64)
    assert out.shape == (m,)
    assert [int(v) for v in out] == reference_words(key, m, b)


def test_expand_implementations_agree_on_large_vector():
    """All implementations expand the same 10^5-element uint64 mask."""
    key = os.urandom(16)
    outs = [prg.expand(key, 100_003, 61, impl=i) for i in IMPLS]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 written out from the RFC, for comparison."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def test_derive_key_is_hkdf_sha256_with_protocol_labels():
    """derive_key = HKDF-SHA256(seed, session_id, "secagg/v1/prg/" + purpose) truncated to 16."""
    seed, sid = os.urandom(32), os.urandom(32)
    for purpose in ("self", "pair:1:2", "pair:7:1000"):
        expected = rfc5869(seed, sid, b"secagg/v1/prg/" + purpose.encode(), 16)
        assert prg.derive_key(seed, sid, purpose) == expected


def test_derive_key_matches_pyca_hkdf():
    """derive_key agrees with pyca/cryptography's HKDF (an independent implementation)."""
    hkdf_mod = pytest.importorskip("cryptography.hazmat.primitives.kdf.hkdf")
    hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
    seed, sid = os.urandom(32), os.urandom(32)
    ref = hkdf_mod.HKDF(
        algorithm=hashes.SHA256(), length=16, salt=sid, info=b"secagg/v1/prg/pair:3:12"
    ).derive(seed)
    assert prg.derive_key(seed, sid, prg.pair_purpose(12, 3)) == ref


def test_purposes_separate_keys():
    """Different purposes, seeds or session ids give different keys."""
    seed, sid = os.urandom(32), os.urandom(32)
    keys = {
        prg.derive_key(seed, sid, prg.self_purpose()),
        prg.derive_key(seed, sid, prg.pair_purpose(1, 2)),
        prg.derive_key(seed, sid, prg.pair_purpose(1, 3)),
        prg.derive_key(os.urandom(32), sid, "self"),
        prg.derive_key(seed, os.urandom(32), "self"),
    }
    assert len(keys) == 5


def test_pair_purpose_orders_ids():
    """pair_purpose puts the smaller id first and is symmetric."""
    assert prg.pair_purpose(9, 10) == prg.pair_purpose(10, 9) == "pair:9:10"
    assert prg.self_purpose() == "self"


@pytest.mark.parametrize(
    "args",
    [(0, 1), (1, 1), (-2, 3), (True, 2), (1.0, 2), ("1", 2)],
)
def test_pair_purpose_rejects_bad_ids(args):
    """Non-positive, equal or non-integer ids are refused."""
    with pytest.raises(InvalidInputError):
        prg.pair_purpose(*args)


@pytest.mark.parametrize(
    "purpose",
    [
        "",
        "Self",
        "pair:2:1",
        "pair:1:1",
        "pair:01:2",
        "pair:1:02",
        "pair:1",
        "pair:a:b",
        "pair:1:2:3",
        "pair:-1:2",
        "pair:1:٣",
        b"self",
    ],
)
def test_derive_key_rejects_bad_purpose(purpose):
    """A purpose other than 'self' or canonical 'pair:<min>:<max>' is refused."""
    with pytest.raises(InvalidInputError, match="purpose"):
        prg.derive_key(bytes(32), bytes(32), purpose)


@pytest.mark.parametrize(
    "seed,sid",
    [(bytes(31), bytes(32)), (bytes(32), bytes(33)), ("x" * 32, bytes(32)), (bytes(32), None)],
)
def test_derive_key_rejects_bad_seed_or_session(seed, sid):
    """seed and session_id must be 32 bytes each."""
    with pytest.raises(InvalidInputError):
        prg.derive_key(seed, sid, "self")


@pytest.mark.parametrize(
    "call",
    [
        lambda: prg.keystream(bytes(15), 16),
        lambda: prg.keystream(bytes(17), 16),
        lambda: prg.keystream("k" * 16, 16),
        lambda: prg.keystream(bytes(16), -1),
        lambda: prg.keystream(bytes(16), 1.5),
        lambda: prg.keystream(bytes(16), 16, counter=-1),
        lambda: prg.keystream(bytes(16), 16, counter=2**128),
        lambda: prg.keystream(bytes(16), 16, impl="nonexistent"),
        lambda: prg.keystream(bytes(16), 16, impl=3),
        lambda: prg.expand(bytes(16), 4, 0),
        lambda: prg.expand(bytes(16), 4, 65),
        lambda: prg.expand(bytes(16), 4, True),
        lambda: prg.expand(bytes(16), -1, 8),
        lambda: prg.expand(bytes(16), 2**34 + 1, 32),
        lambda: prg.expand(bytes(15), 4, 8),
    ],
)
def test_bad_arguments_raise_invalid_input(call):
    """Every bad argument raises InvalidInputError (never a crash or a silent result)."""
    with pytest.raises(InvalidInputError):
        call()


NATIVE_X86 = ("vaes512", "vaes256", "aesni")


def test_openssl_listed_when_pyca_cryptography_imports():
    """``openssl`` is usable exactly when pyca/cryptography imports, just before ``portable``."""
    have = importlib.util.find_spec("cryptography") is not None
    assert _openssl.AVAILABLE == have
    assert ("openssl" in IMPLS) == have
    if have:
        assert IMPLS[-2:] == ("openssl", "portable")


@pytest.mark.parametrize("native", [("portable",), ("aesni", "portable")])
def test_cpu_without_x86_aes_selects_openssl_then_portable(native):
    """Pretending the CPU lacks every x86 AES path (as on ARM): openssl with pyca/cryptography,
    portable without it; with AES-NI the core's path still wins over openssl."""
    x86 = native[0] if native[0] in NATIVE_X86 else None
    name, reason = prg.choose_implementation(native, "OpenSSL 9.9.9", None)
    assert name == (x86 or "openssl")
    assert ("OpenSSL 9.9.9" in reason) == (x86 is None)
    name, reason = prg.choose_implementation(native, None, None)
    assert name == (x86 or "portable")
    if x86 is None:
        assert "no x86 AES path" in reason and "cryptography" in reason
    else:
        assert "cpuid reports AES-NI" in reason


@given(
    native=st.sets(st.sampled_from(NATIVE_X86)).map(
        lambda s: tuple(n for n in NATIVE_X86 if n in s) + ("portable",)
    ),
    openssl=st.sampled_from([None, "OpenSSL 3.5.0"]),
)
def test_selection_picks_the_first_usable_implementation(native, openssl):
    """Unforced, the choice is the first usable implementation: x86 AES paths, then openssl
    (only with pyca/cryptography), then portable, which is always last."""
    usable = prg.supported_implementations(native, openssl)
    assert usable[-1] == "portable"
    assert ("openssl" in usable) == (openssl is not None)
    assert prg.choose_implementation(native, openssl, None)[0] == usable[0]
    assert prg.choose_implementation(native, openssl, "")[0] == usable[0]
    for name in usable:
        assert prg.choose_implementation(native, openssl, name) == (
            name,
            f"forced by SECAGG_IMPL={name}" + (f" ({openssl})" if name == "openssl" else ""),
        )


@pytest.mark.parametrize(
    "native,openssl,forced,match",
    [
        (("portable",), None, "openssl", "needs pyca/cryptography"),
        (("portable",), "OpenSSL 3.5.0", "aesni", "not supported by this CPU"),
        (("aesni", "portable"), None, "vaes512", "not supported by this CPU"),
        (("portable",), None, "arm-ce", "names no keystream implementation"),
    ],
)
def test_forcing_an_unusable_implementation_names_the_problem(native, openssl, forced, match):
    """SECAGG_IMPL naming something this CPU or installation lacks raises InvalidInputError."""
    with pytest.raises(InvalidInputError, match=match):
        prg.choose_implementation(native, openssl, forced)


def _run_with_impl(value: str, *, hide_cryptography: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, SECAGG_IMPL=value)
    code = "import secagg.prg as p; print(p.selected_implementation(), p.implementations())"
    if hide_cryptography:  # as if pyca/cryptography were not installed
        code = "import sys; sys.modules['cryptography'] = None; " + code
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_secagg_impl_env_forces_implementation():
    """SECAGG_IMPL=portable makes the whole process use the portable path."""
    r = _run_with_impl("portable")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "portable"


def test_secagg_impl_env_unknown_fails_at_import():
    """An unknown SECAGG_IMPL makes the import fail with a message naming it."""
    r = _run_with_impl("no-such-impl")
    assert r.returncode != 0
    assert "no-such-impl" in r.stderr and "InvalidInputError" in r.stderr


def test_secagg_impl_openssl_forces_it_or_fails_without_pyca_cryptography():
    """SECAGG_IMPL=openssl selects openssl; without pyca/cryptography the import fails saying so,
    and unforced the process falls back without listing openssl."""
    pytest.importorskip("cryptography")
    r = _run_with_impl("openssl")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "openssl"
    r = _run_with_impl("openssl", hide_cryptography=True)
    assert r.returncode != 0
    assert "InvalidInputError" in r.stderr and "needs pyca/cryptography" in r.stderr
    r = _run_with_impl("", hide_cryptography=True)
    assert r.returncode == 0, r.stderr
    assert "openssl" not in r.stdout and "portable" in r.stdout

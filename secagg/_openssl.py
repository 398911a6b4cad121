"""The ``openssl`` keystream implementation: OpenSSL's AES-128-CTR through pyca/cryptography.

OpenSSL has AES code for most CPUs (ARMv8 Crypto Extensions, POWER8, s390x,
and the x86 paths), so on a CPU where the core has no x86 AES path this is
far faster than the portable bitsliced one. Only the keystream comes from
OpenSSL: the masking arithmetic is the core's (``secagg_mask_add_streams``),
fed slice by slice so memory stays bounded. The counter block is the full
128-bit big-endian counter of PROTOCOL.md section 2, which OpenSSL's CTR mode
increments with carries through all 128 bits.

This module imports without pyca/cryptography; ``AVAILABLE`` then is False
and ``MISSING`` says why.
"""

from __future__ import annotations

from . import _core

try:
    import cryptography
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as exc:  # an optional dependency (extra "fast")
    AVAILABLE = False
    MISSING = f"pyca/cryptography cannot be imported ({exc})"
else:
    AVAILABLE = True
    MISSING = ""

try:  # only for naming the OpenSSL build; the keystream does not need it
    from cryptography.hazmat.backends.openssl import backend as _backend

    _BUILD = str(_backend.openssl_version_text())
except ImportError:
    _BUILD = "OpenSSL"

SLICE_BYTES = 1 << 16
"""Keystream bytes per key per OpenSSL call: big enough that the per-call cost
is small, small enough that a group's keystream stays in the L2 cache."""

GROUP_KEYS = 4
"""Keys whose slices are added in one core call (memory: GROUP_KEYS * SLICE_BYTES).
64 KiB x 4 measured best among 16-256 KiB x 2-16 on the Zen 5 of docs/benchmarks.md."""


def describe() -> str:
    """The OpenSSL build and the pyca/cryptography version, or why they are missing."""
    if not AVAILABLE:
        return MISSING
    return f"{_BUILD} via pyca/cryptography {cryptography.__version__}"


def _encryptor(key: bytes, counter: bytes) -> object:
    return Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()


def keystream_into(key: bytes, counter: bytes, out: bytearray | memoryview) -> None:
    """Fill ``out`` with AES-128-CTR keystream from the 16-byte big-endian counter block.

    The caller has checked the key, the counter and that the counter does not
    pass 2^128 within ``len(out)`` bytes.
    """
    cipher = _encryptor(key, counter)
    view = memoryview(out).cast("B")
    zeros = memoryview(bytes(SLICE_BYTES))
    total = len(view)
    for off in range(0, total, SLICE_BYTES):
        n = min(SLICE_BYTES, total - off)
        if total - off >= n + 15:
            cipher.update_into(zeros[:n], view[off:])  # type: ignore[attr-defined]
        else:  # the last slice: older pyca/cryptography wants 15 bytes of room
            tail = bytearray(n + 15)
            cipher.update_into(zeros[:n], tail)  # type: ignore[attr-defined]
            view[off : off + n] = tail[:n]
            tail[:] = bytes(len(tail))


def mask_apply(vec: object, keys: bytes, signs: bytes, b: int, first_block: int = 0) -> None:
    """vec += sum_j signs[j] * PRG(keys[16j:16j+16]) mod 2^b in place (signs as int8 bytes),
    each keystream from counter block ``first_block`` (vec is then a part of a longer one).

    Keys go in groups of ``GROUP_KEYS``, each group's keystream in slices of
    ``SLICE_BYTES``; the core checks vec before the first group writes.
    """
    counter = first_block.to_bytes(16, "big")
    for g in range(0, len(signs), GROUP_KEYS):
        group = range(g, min(g + GROUP_KEYS, len(signs)))
        ciphers = [_encryptor(keys[16 * j : 16 * j + 16], counter) for j in group]
        _core.mask_apply_streams(vec, ciphers, signs[g : group.stop], b, SLICE_BYTES)

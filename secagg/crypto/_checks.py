"""The key and signature checks the two libraries might disagree on, done in Python.

Canonical, non-small-order X25519 public keys (PROTOCOL.md §4) and the
encoding rules of strict Ed25519 verification (RFC 8032 §5.1.7) are decided
here, before either library is called, so the answer does not depend on the
backend.
"""

from __future__ import annotations

from ..exceptions import ProtocolViolationError
from ._common import KEY_SIZE, SIGNATURE_SIZE

# Curve25519 field prime and Ed25519 group order.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493

# The canonical u-coordinates (bit 255 clear, u < p) of points of order
# dividing 8 on Curve25519 or its twist: X25519 of any clamped scalar with
# them is all zero (RFC 7748 §6.1). The remaining entries of the usual list
# of such keys (p, p + 1, and variants with bit 255 set) are non-canonical
# and refused by the canonical-encoding check first.
SMALL_ORDER_X25519: frozenset[int] = frozenset(
    {
        0,
        1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
        _P - 1,
    }
)


def check_public_key(pk: bytes) -> None:
    """Refuse an X25519 public key that PROTOCOL.md §4 does not allow.

    Args:
        pk: The peer's public key as received.

    Raises:
        ProtocolViolationError: Not 32 bytes, non-canonical (bit 255 set or
            u >= 2^255 - 19), or one of the small-order u-coordinates that give
            an all-zero shared secret.
    """
    if not isinstance(pk, (bytes, bytearray, memoryview)) or len(pk) != KEY_SIZE:
        got = len(pk) if isinstance(pk, (bytes, bytearray, memoryview)) else type(pk).__name__
        raise ProtocolViolationError(f"an X25519 public key must be 32 bytes, got {got}.")
    u = int.from_bytes(bytes(pk), "little")
    if u >> 255:
        raise ProtocolViolationError("X25519 public key is not canonical: its bit 255 is set.")
    if u >= _P:
        raise ProtocolViolationError(
            "X25519 public key is not canonical: its u-coordinate is >= 2^255 - 19."
        )
    if u in SMALL_ORDER_X25519:
        raise ProtocolViolationError(
            "X25519 public key is a small-order point (its shared secret would be all zero)."
        )


def _decode_ed25519_y(encoding: bytes, what: str) -> str | None:
    """Why an Ed25519 point encoding is non-canonical (RFC 8032 §5.1.3), or None."""
    y = int.from_bytes(encoding, "little") & ((1 << 255) - 1)
    sign = encoding[31] >> 7
    if y >= _P:
        return f"{what} is not canonical: y >= 2^255 - 19"
    # x = 0 exactly when y^2 = 1; then a set sign bit is a second encoding of (0, y).
    if sign and y in (1, _P - 1):
        return f"{what} is not canonical: x = 0 with the sign bit set"
    return None


def ed25519_check_encoding(vk: bytes, signature: bytes) -> str | None:
    """The reason strict RFC 8032 §5.1.7 verification refuses these encodings, or None.

    Checks lengths, canonical A (the verification key) and R, and S < L.
    Whether the points lie on the curve is left to the library.
    """
    if len(vk) != KEY_SIZE:
        return f"verification key must be 32 bytes, got {len(vk)}"
    if len(signature) != SIGNATURE_SIZE:
        return f"signature must be 64 bytes, got {len(signature)}"
    reason = _decode_ed25519_y(vk, "verification key A")
    if reason is None:
        reason = _decode_ed25519_y(signature[:32], "signature point R")
    if reason is None and int.from_bytes(signature[32:], "little") >= _L:
        reason = "signature scalar S is not below the group order L"
    return reason

"""The fixed byte strings of PROTOCOL.md §4 and §8 that are signed, hashed or committed to.

Built in one place so that every caller signs and hashes exactly the same
bytes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

from ..exceptions import InvalidInputError
from ._common import KEY_SIZE, SESSION_ID_SIZE, as_bytes

SIG_CONFIG = b"secagg/v1/sig/config"
SIG_KEYS = b"secagg/v1/sig/keys"
SIG_SURVIVORS = b"secagg/v1/sig/survivors"
TRANSCRIPT_LABEL = b"secagg/v1/transcript"
COMMIT_SELF = b"secagg/v1/commit/self"
_U32_MAX = 2**32 - 1


def _u32(name: str, value: object) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _U32_MAX:
        raise InvalidInputError(f"{name} must be an integer in 1..{_U32_MAX}, got {value!r}.")
    return struct.pack(">I", value)


def advert_message(session_id: bytes, u: int, c_pk: bytes, s_pk: bytes) -> bytes:
    """The signed key advert A_u = "secagg/v1/sig/keys" ‖ sid ‖ u32be(u) ‖ c_pk ‖ s_pk."""
    return (
        SIG_KEYS
        + as_bytes("session_id", session_id, SESSION_ID_SIZE)
        + _u32("client id", u)
        + as_bytes("c_pk", c_pk, KEY_SIZE)
        + as_bytes("s_pk", s_pk, KEY_SIZE)
    )


def transcript_hash(session_id: bytes, adverts: Mapping[int, tuple[bytes, bytes]]) -> bytes:
    """T = SHA-256("secagg/v1/transcript" ‖ sid ‖ per v in U1 ascending: u32be(v) ‖ c_pk ‖ s_pk).

    Args:
        session_id: The 32-byte session id.
        adverts: Every client of U1 mapped to its (c_pk, s_pk).

    Raises:
        InvalidInputError: Wrong lengths or ids.
    """
    h = hashlib.sha256(TRANSCRIPT_LABEL)
    h.update(as_bytes("session_id", session_id, SESSION_ID_SIZE))
    for v in sorted(adverts):
        pair = adverts[v]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InvalidInputError(f"advert of client {v!r} must be a (c_pk, s_pk) pair.")
        h.update(_u32("client id", v))
        h.update(as_bytes(f"c_pk of client {v}", pair[0], KEY_SIZE))
        h.update(as_bytes(f"s_pk of client {v}", pair[1], KEY_SIZE))
    return h.digest()


def survivors_message(T: bytes, bitmap: bytes) -> bytes:  # noqa: N803 - PROTOCOL's name
    """The signed survivor list S = "secagg/v1/sig/survivors" ‖ T ‖ bitmap_n(U3)."""
    return SIG_SURVIVORS + as_bytes("transcript hash T", T, 32) + as_bytes("bitmap", bitmap)


def config_message(nonce: bytes, canonical: bytes) -> bytes:
    """The config authority's signed string "secagg/v1/sig/config" ‖ nonce ‖ canonical."""
    return SIG_CONFIG + as_bytes("nonce", nonce, 32) + as_bytes("canonical config", canonical)


def self_commitment(session_id: bytes, u: int, b_u: bytes) -> bytes:
    """com_u = SHA-256("secagg/v1/commit/self" ‖ sid ‖ u32be(u) ‖ b_u)."""
    return hashlib.sha256(
        COMMIT_SELF
        + as_bytes("session_id", session_id, SESSION_ID_SIZE)
        + _u32("client id", u)
        + as_bytes("b_u", b_u, 32)
    ).digest()

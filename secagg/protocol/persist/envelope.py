"""The sealed envelope of an exported session (PROTOCOL.md §13).

A blob is a clear header followed by the session state sealed with
AES-256-GCM under HKDF-SHA256(caller key, info = "secagg/v1/state/" + role).
The associated data binds the format version, the role, the session id, the
party's id, the sequence number and the state tag, so a blob cannot be
replayed as another party, session, step or state:

    magic "SAGS" | u8 version | u8 role | u8 state tag | session id (32)
    | u32be id | u64be seq | GCM nonce (12) | ciphertext ‖ tag (16)

AAD = "secagg/v1/state" ‖ u8 version ‖ u8 role ‖ session id ‖ u32be(id) ‖
u64be(seq) ‖ u8 state tag. The header repeats what the AAD binds so that a
mismatch is refused with a sentence naming it before anything is decrypted.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from ... import crypto
from ...exceptions import (
    InvalidInputError,
    MalformedMessageError,
    ProtocolViolationError,
    SecAggError,
)
from ..vocabulary import SESSION_ID_LEN, Rng, State

__all__ = ["CLIENT", "SERVER", "Envelope", "open_blob", "seal"]

MAGIC = b"SAGS"
VERSION = 1
CLIENT = 1
SERVER = 2
_ROLE_NAMES = {CLIENT: b"client", SERVER: b"server"}
_AAD_LABEL = b"secagg/v1/state"
_KEY_INFO = b"secagg/v1/state/"
_HEADER = struct.Struct(">4sBBB32sIQ12s")
_TAG_LEN = 16
_STATES = list(State)
_EXPORTABLE = {s.tag for s in State if s not in (State.COMPLETED, State.ABORTED)}


@dataclass(frozen=True)
class Envelope:
    """The clear header of a blob."""

    role: int
    state: State
    session_id: bytes
    party: int
    seq: int


def _role_key(key: bytes, role: int) -> bytes:
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        got = len(key) if isinstance(key, (bytes, bytearray)) else type(key).__name__
        raise InvalidInputError(f"the state key must be 32 bytes, got {got}.")
    return crypto.hkdf_sha256(bytes(key), b"", _KEY_INFO + _ROLE_NAMES[role], 32)


def _aad(env: Envelope) -> bytes:
    return (
        _AAD_LABEL
        + bytes([VERSION, env.role])
        + env.session_id
        + struct.pack(">IQ", env.party, env.seq)
        + bytes([env.state.tag])
    )


def seal(env: Envelope, plaintext: bytes, key: bytes, rng: Rng = os.urandom) -> bytes:
    """Seal a session state into a blob.

    Args:
        env: Role, state, session id, party id and sequence number.
        plaintext: The encoded state.
        key: The caller's 32-byte key (never stored next to the blob).
        rng: Source of the GCM nonce (the OS CSPRNG by default).

    Raises:
        InvalidInputError: A key that is not 32 bytes, a terminal state or a
            sequence number that does not fit in 64 bits.
    """
    if env.state.tag not in _EXPORTABLE:
        raise InvalidInputError(f"a session in state {env.state.value} is not exported.")
    if not 0 <= env.seq < 1 << 64:
        raise InvalidInputError(f"seq must fit in 64 bits, got {env.seq}.")
    nonce = rng(12)
    header = _HEADER.pack(
        MAGIC, VERSION, env.role, env.state.tag, env.session_id, env.party, env.seq, nonce
    )
    return header + crypto.aes_gcm_seal(_role_key(key, env.role), nonce, plaintext, _aad(env))


def open_blob(
    blob: bytes, key: bytes, *, role: int, session_id: bytes, party: int, expected_seq: int
) -> tuple[State, bytes]:
    """Check a blob against what the caller expects and return (state, plaintext).

    Raises:
        MalformedMessageError: Not a blob of this format.
        ProtocolViolationError: Another version, role, session, party or
            sequence number than expected, a terminal state, or a tag that
            does not verify under this key.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise MalformedMessageError(f"a session blob must be bytes, got {type(blob).__name__}.")
    if not isinstance(blob, bytes):
        blob = bytes(blob)
    if len(blob) < _HEADER.size + _TAG_LEN:
        raise MalformedMessageError(
            f"a session blob has at least {_HEADER.size + _TAG_LEN} bytes, got {len(blob)}."
        )
    magic, version, got_role, tag, sid, got_party, seq, nonce = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise MalformedMessageError(f"not a session blob (magic {magic!r}, expected {MAGIC!r}).")
    if version != VERSION:
        raise ProtocolViolationError(f"the blob has format version {version}, not {VERSION}.")
    if got_role != role:
        raise ProtocolViolationError(
            f"the blob holds a {_ROLE_NAMES.get(got_role, b'?').decode()} session, "
            f"not a {_ROLE_NAMES[role].decode()} session."
        )
    if len(session_id) != SESSION_ID_LEN or sid != bytes(session_id):
        raise ProtocolViolationError(
            f"the blob belongs to session {sid.hex()[:16]}…, not {bytes(session_id).hex()[:16]}…."
        )
    if got_party != party:
        raise ProtocolViolationError(f"the blob belongs to id {got_party}, not {party}.")
    if seq != expected_seq:
        raise ProtocolViolationError(
            f"the blob has sequence number {seq}, expected {expected_seq}: a stale or replayed "
            "copy (or one already restored) is refused."
        )
    if tag not in _EXPORTABLE:
        raise ProtocolViolationError(f"the blob's state tag {tag} is not an exportable state.")
    env = Envelope(role, _STATES[tag], sid, party, seq)
    try:
        plaintext = crypto.aes_gcm_open(
            _role_key(key, role), nonce, memoryview(blob)[_HEADER.size :], _aad(env)
        )
    except SecAggError:
        raise ProtocolViolationError(
            "the blob does not verify under this key (wrong key, or changed bytes)."
        ) from None
    return env.state, plaintext

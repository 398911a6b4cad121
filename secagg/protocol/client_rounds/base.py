"""What every client state shares: the session, the trust anchors, the secrets, the end states.

A client state accepts one kind of server message and returns the next
state and the messages to send (PROTOCOL.md §8). It holds only the data
that exists in its round; an abort is a state, :class:`Aborted`, carrying
the detailed sentence (kept local) and the rule and peer its notice names.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import crypto, shamir
from ...prg import derive_key, keystream
from ..config import Config
from ..graph import Graph
from ..messages import Message
from ..policy import ClientPolicy
from ..vocabulary import SHARE_LEN, AbortCode, Rng, State

__all__ = [
    "Aborted",
    "ClientState",
    "Completed",
    "Secrets",
    "Session",
    "Step",
    "Trust",
    "refuse",
    "valid_share",
]

_SHARE_VALUES = struct.Struct(f"<{SHARE_LEN // 8}Q")
_NONCE_INFO = b"secagg/v1/gcm-nonces"


def valid_share(share: bytes) -> bool:
    """A share of a 32-byte secret: SHARE_LEN bytes of values below p."""
    return len(share) == SHARE_LEN and max(_SHARE_VALUES.unpack(share)) < shamir.P


@dataclass(frozen=True)
class Trust:
    """The client's node-local trust anchors (never persisted with the session).

    Attributes:
        config: The config this client was built for, or None to judge the
            server's by ``policy``.
        policy: The operator's policy (§10), or None.
        signing_key: The client's Ed25519 signing key (active mode).
        verify_keys: The registry id -> Ed25519 verification key (active mode).
        authority_vk: The config authority's verification key (active mode).
    """

    config: Config | None
    policy: ClientPolicy | None
    signing_key: bytes | None
    verify_keys: Mapping[int, bytes] | None
    authority_vk: bytes | None

    @property
    def wants_active(self) -> bool:
        """True when only an active config can be acceptable."""
        return (self.config is not None and self.config.mode.byte == 1) or (
            self.policy is not None and self.policy.registry_digest is not None
        )


@dataclass(frozen=True)
class Session:
    """One session's public facts, fixed by the R0 request.

    Attributes:
        client_id: This client's id.
        config: The session config.
        nonce: The config issuer's nonce (the session id derives from it).
        session_id: SHA-256("secagg/v1/session" ‖ nonce ‖ canonical(config)).
    """

    client_id: int
    config: Config
    nonce: bytes
    session_id: bytes

    @property
    def graph(self) -> Graph:
        """The session graph (built once per process and session)."""
        return Graph.build(self.config, self.session_id)

    @property
    def neighbours(self) -> tuple[int, ...]:
        """N(u) in increasing id."""
        return self.graph.neighbours(self.client_id)

    @property
    def active(self) -> bool:
        """True in active mode."""
        return self.config.mode.byte == 1


@dataclass
class Secrets:
    """All of a session's randomness, drawn when the session starts (PROTOCOL.md §13).

    Drawing everything at once makes re-handling the same request give the
    same bytes: a restored copy continues exactly where the exported one
    stopped. ``b`` is a bytearray so that it can be overwritten.

    Attributes:
        c_sk: The channel key pair's secret half.
        s_sk: The masking key pair's secret half (shared as s_u^SK).
        b: The self-mask seed b_u.
        rand_b: Shamir coefficient bytes for b_u's split.
        rand_sk: Shamir coefficient bytes for s_u^SK's split.
        nonce_seed: Seed the share ciphertexts' GCM nonces derive from.
    """

    c_sk: bytes
    s_sk: bytes
    b: bytearray
    rand_b: bytes
    rand_sk: bytes
    nonce_seed: bytes

    @classmethod
    def draw(cls, rng: Rng, t: int) -> tuple[Secrets, bytes, bytes]:
        """Draw a session's randomness for threshold t from ``rng``.

        Returns:
            The secrets, and the channel and masking public keys.
        """
        per = shamir.random_bytes_needed(32, t)
        c_sk, c_pk = crypto.x25519_keypair(rng)
        s_sk, s_pk = crypto.x25519_keypair(rng)
        secrets = cls(c_sk, s_sk, bytearray(rng(32)), rng(per), rng(per), rng(32))
        return secrets, c_pk, s_pk

    def gcm_nonces(self, session_id: bytes, receivers: Sequence[int]) -> dict[int, bytes]:
        """The 12-byte nonces of the share ciphertexts, one per receiver.

        One AES-CTR stream under a key derived from the CSPRNG seed gives 12
        bytes per receiver, at its place in N(u)'s id order: each (session,
        sender, receiver) has its own channel key and one ciphertext, so no
        nonce is reused, and each is as good as a fresh random one.
        """
        key = crypto.hkdf_sha256(self.nonce_seed, session_id, _NONCE_INFO, 16)
        stream = keystream(key, 12 * len(receivers))
        return {v: stream[12 * j : 12 * j + 12] for j, v in enumerate(receivers)}

    def self_key(self, session_id: bytes) -> bytes:
        """The PRG key of this client's self mask."""
        return derive_key(bytes(self.b), session_id, "self")

    def erase(self) -> None:
        """Overwrite what can be overwritten (Python keeps immutable copies)."""
        self.b[:] = bytes(len(self.b))


@dataclass(frozen=True)
class Step:
    """What handling one message produced: the next state and the replies.

    A reply is a message, or its encoding when the message views memory the
    state overwrites right after (the masked vector).
    """

    state: ClientState
    replies: tuple[Message | bytes, ...] = ()


class ClientState:
    """A client waiting for one kind of server message.

    Subclasses set ``STATE`` and ``EXPECTS`` (the message class accepted) and
    implement :meth:`handle`.
    """

    STATE: ClassVar[State]
    EXPECTS: ClassVar[type | None] = None

    def handle(self, msg: Message, trust: Trust, rng: Rng) -> Step:
        """Process the expected message; return the next state and replies."""
        raise NotImplementedError

    def facts(self) -> Session | None:
        """The session's public facts, once the R0 request fixed them."""
        return None

    def erase(self) -> None:
        """Drop this state's secrets (called when the session ends)."""


@dataclass
class Completed(ClientState):
    """The session ended with this client's R4 answer sent."""

    STATE: ClassVar[State] = State.COMPLETED


@dataclass
class Aborted(ClientState):
    """The session ended with a refusal (or the server's abort).

    Attributes:
        reason: The detailed sentence (stays in the client).
        code: The rule the abort notice names (None: the server aborted).
        peer: The client whose message failed, if any.
        notify: Whether an abort notice goes to the server.
    """

    STATE: ClassVar[State] = State.ABORTED
    reason: str = ""
    code: AbortCode | None = None
    peer: int | None = None
    notify: bool = True


def refuse(code: AbortCode, detail: str, peer: int | None = None) -> Step:
    """The step of a refusal: Aborted with the rule, the peer and the sentence."""
    return Step(Aborted(detail, code, peer))


def input_words(vector: np.ndarray, config: Config) -> str | None:
    """Why ``vector`` is not a valid input for ``config``, or None."""
    if vector.shape != (config.m,):
        return f"the input vector has shape {vector.shape}, the config needs ({config.m},)."
    if vector.dtype.kind not in "ui":
        return f"the input vector must be integers, got {vector.dtype}."
    if vector.dtype.kind == "u" and vector.dtype.itemsize * 8 <= config.b:
        return None  # every word of this dtype is in range: no pass over the vector
    if vector.size and (int(vector.min()) < 0 or int(vector.max()) >= 1 << config.b):
        return (
            f"input words must lie in 0..2^{config.b} - 1; got values in "
            f"{int(vector.min())}..{int(vector.max())}."
        )
    return None

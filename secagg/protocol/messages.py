"""Wire messages of the secagg protocol, exactly as in docs/wire-format.md.

One frozen dataclass per message, whose ``LAYOUT`` lists its body's fields in
wire order (:mod:`secagg.protocol.layout`); that one layout drives
``to_bytes()`` (raising :class:`~secagg.exceptions.InvalidInputError` when a
field cannot be encoded), ``Cls.from_bytes(data, limits)`` and the generic
:func:`decode` (raising :class:`~secagg.exceptions.MalformedMessageError`,
and only that, on anything wrong), and :func:`max_message_size`
(:mod:`secagg.protocol.codec`). Decoding never trusts a count before checking
that the bytes it claims are present, so a short hostile message cannot make
the decoder allocate or loop more than its own length allows.

With the session's :class:`~secagg.protocol.wire.Limits` (or its
:class:`~secagg.protocol.config.Config`, converted), the decoder also enforces
the limits derived from it: ids in 1..n, counts within n, the exact
neighbourhood size, vector length and bit width, signatures present exactly
in active mode, and a total size of at most :func:`max_message_size`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeAlias, cast

from ..shamir import P
from . import codec
from .codec import WireMessage, max_message_size
from .config import Config
from .layout import Blob, Layout, Maybe, Text, UInt, bits
from .lists import Entries, IdSet
from .vocabulary import (
    CIPHERTEXT_LEN,
    COMMIT_LEN,
    CONFIG_LABEL,
    CONFIG_LEN,
    CONFIG_VERSION,
    DIGEST_LEN,
    KEY_LEN,
    MAX_KEYSTREAM_BYTES,
    MAX_N,
    MAX_REASON_BYTES,
    NONCE_LEN,
    SERVER_ID,
    SESSION_ID_LEN,
    SHARE_LEN,
    SHARE_PLAINTEXT_LEN,
    SIG_LEN,
    MsgType,
    ShareKind,
)
from .wire import (
    HEADER_LEN,
    MAGIC,
    VERSION,
    Limits,
    Sender,
    decode_bitmap,
    encode_bitmap,
    peek_header,
    word_bytes,
)

__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_LEN",
    "SERVER_ID",
    "MAX_N",
    "MAX_REASON_BYTES",
    "CONFIG_LEN",
    "KEY_LEN",
    "SIG_LEN",
    "COMMIT_LEN",
    "NONCE_LEN",
    "SESSION_ID_LEN",
    "CIPHERTEXT_LEN",
    "SHARE_LEN",
    "SHARE_PLAINTEXT_LEN",
    "MsgType",
    "ShareKind",
    "Limits",
    "Advert",
    "CiphertextOut",
    "CiphertextIn",
    "SignatureEntry",
    "ShareEntry",
    "ConfigRequest",
    "KeyAdvert",
    "AdvertForward",
    "EncryptedShares",
    "ShareForward",
    "MaskedInput",
    "SurvivorRequest",
    "SurvivorSignature",
    "UnmaskRequest",
    "UnmaskResponse",
    "AbortNotice",
    "Message",
    "decode",
    "peek_header",
    "max_message_size",
    "encode_bitmap",
    "decode_bitmap",
]


class Advert(NamedTuple):
    """One forwarded key advert: client id, channel key, masking key, signature."""

    id: int
    c_pk: bytes
    s_pk: bytes
    signature: bytes | None = None


class CiphertextOut(NamedTuple):
    """A ciphertext as sent by its author, addressed to ``receiver``."""

    receiver: int
    ciphertext: bytes


class CiphertextIn(NamedTuple):
    """A ciphertext as forwarded to its receiver, with the author's commitment."""

    sender: int
    commitment: bytes
    ciphertext: bytes


class SignatureEntry(NamedTuple):
    """A signature on the survivor list by client ``id``."""

    id: int
    signature: bytes


class ShareEntry(NamedTuple):
    """One R4 share: whose secret (``id``), which kind, the 40-byte share."""

    id: int
    kind: int
    share: bytes


# --------------------------------------------------------------------------
# rules a layout cannot say by itself

#: The canonical config's mode byte comes last before the registry digest.
_CONFIG_MODE_AT = CONFIG_LEN - DIGEST_LEN - 1
_SHARE_VALUES = struct.Struct(f"<{SHARE_LEN // 8}Q")


def _canonical_config(cfg: bytes, _: Mapping[str, Any]) -> str | None:
    """Label and version byte of canonical(config) v1, and a mode byte of 0 or 1."""
    if cfg[: len(CONFIG_LABEL)] != CONFIG_LABEL or cfg[len(CONFIG_LABEL)] != CONFIG_VERSION:
        return "the config does not start with the v1 canonical label."
    mode = cfg[_CONFIG_MODE_AT]
    if mode not in (0, 1):
        return f"config mode byte is {mode}, not 0 or 1."
    return None


def _signed_config(present: bool, values: Mapping[str, Any]) -> str | None:
    """The authority's signature comes exactly with an active config."""
    mode = values["config"][_CONFIG_MODE_AT]
    if present == (mode == 1):
        return None
    return (
        "a signature must be present exactly when the config's mode is active "
        f"(mode {mode}, has_signature {int(present)})."
    )


def _share_below_p(share: bytes, _: Mapping[str, Any]) -> str | None:
    """Every u64 value of a share is a field element (below p)."""
    for i, value in enumerate(_SHARE_VALUES.unpack(share)):
        if value >= P:
            return f"share value {i} is {value}, not below p = 2^61 - 1."
    return None


def _max_m(values: Mapping[str, Any]) -> int:
    """One key expands at most 2^36 bytes: m * w <= 2^36."""
    return MAX_KEYSTREAM_BYTES // word_bytes(values["b"])


_BITMAP_N = UInt("n", 4, lo=1, hi=MAX_N, session="n", label="bitmap_n size n")


# --------------------------------------------------------------------------
# messages


@dataclass(frozen=True)
class ConfigRequest(WireMessage):
    """R0, server to client: canonical(config), nonce, authority signature (active)."""

    config: bytes
    nonce: bytes
    signature: bytes | None = None

    TYPE: ClassVar[int] = MsgType.CONFIG_REQUEST
    SENDER: ClassVar[Sender] = Sender.SERVER
    LAYOUT: ClassVar[Layout] = (
        Blob("config", CONFIG_LEN, check=_canonical_config),
        Blob("nonce", NONCE_LEN),
        Maybe(Blob("signature", SIG_LEN), "has_signature", rule=_signed_config),
    )


@dataclass(frozen=True)
class KeyAdvert(WireMessage):
    """R0, client to server: channel and masking public keys (+ signature)."""

    c_pk: bytes
    s_pk: bytes
    signature: bytes | None = None

    TYPE: ClassVar[int] = MsgType.KEY_ADVERT
    LAYOUT: ClassVar[Layout] = (
        Blob("c_pk", KEY_LEN),
        Blob("s_pk", KEY_LEN),
        Maybe(Blob("signature", SIG_LEN), "has_signature"),
    )


@dataclass(frozen=True)
class AdvertForward(WireMessage):
    """R1 request, server to client: the adverts of N(u) ∩ U1 (all U1 in active mode)."""

    adverts: tuple[Advert, ...]

    TYPE: ClassVar[int] = MsgType.ADVERT_FORWARD
    SENDER: ClassVar[Sender] = Sender.SERVER
    LAYOUT: ClassVar[Layout] = (
        Entries(
            "adverts",
            Advert,
            (Blob("c_pk", KEY_LEN), Blob("s_pk", KEY_LEN), Blob("signature", SIG_LEN)),
            noun="advert",
            flag="has_signatures",
            optional="signature",
        ),
    )


@dataclass(frozen=True)
class EncryptedShares(WireMessage):
    """R1, client to server: commitment to b_u and one ciphertext per neighbour."""

    commitment: bytes
    ciphertexts: tuple[CiphertextOut, ...]

    TYPE: ClassVar[int] = MsgType.ENCRYPTED_SHARES
    LAYOUT: ClassVar[Layout] = (
        Blob("commitment", COMMIT_LEN),
        Entries(
            "ciphertexts",
            CiphertextOut,
            (Blob("ciphertext", CIPHERTEXT_LEN),),
            noun="receiver",
            excludes_sender=True,
            sized_by="k",
        ),
    )


@dataclass(frozen=True)
class ShareForward(WireMessage):
    """R2 request, server to client: ciphertexts and commitments from N(u) ∩ U2."""

    ciphertexts: tuple[CiphertextIn, ...]

    TYPE: ClassVar[int] = MsgType.SHARE_FORWARD
    SENDER: ClassVar[Sender] = Sender.SERVER
    LAYOUT: ClassVar[Layout] = (
        Entries(
            "ciphertexts",
            CiphertextIn,
            (Blob("commitment", COMMIT_LEN), Blob("ciphertext", CIPHERTEXT_LEN)),
            noun="sender",
            sized_by="k",
        ),
    )


@dataclass(frozen=True)
class MaskedInput(WireMessage):
    """R2, client to server: masking-set bitmap over N(u) and the packed y_u.

    ``mask_bitmap`` covers the ``num_neighbours`` entries of N(u) in increasing
    id; ``packed`` is y_u packed ``b`` bits per element (``m`` elements). A
    message decoded from read-only data (``bytes``) holds ``packed`` as a
    read-only ``memoryview`` into that data rather than a copy of it, and
    encoding copies ``packed`` once, into the message.
    """

    num_neighbours: int
    mask_bitmap: bytes
    b: int
    m: int
    packed: bytes | memoryview

    TYPE: ClassVar[int] = MsgType.MASKED_INPUT
    LAYOUT: ClassVar[Layout] = (
        UInt("num_neighbours", 4, hi=MAX_N - 1, session="k"),
        bits("mask_bitmap", lambda v: v["num_neighbours"]),
        UInt("b", 1, lo=1, hi=64, session="b", label="bit width b"),
        UInt("m", 8, lo=1, hi=_max_m, session="m", label="vector length m"),
        bits("packed", lambda v: v["m"] * v["b"], view=True),
    )

    def masking_positions(self) -> list[int]:
        """0-based positions in N(u) (increasing id) whose bit is set."""
        return decode_bitmap(self.mask_bitmap, self.num_neighbours)


@dataclass(frozen=True)
class SurvivorRequest(WireMessage):
    """R3 request (active mode), server to client: U3 as bitmap_n."""

    n: int
    survivors: tuple[int, ...]

    TYPE: ClassVar[int] = MsgType.SURVIVOR_REQUEST
    SENDER: ClassVar[Sender] = Sender.SERVER
    LAYOUT: ClassVar[Layout] = (_BITMAP_N, IdSet("survivors", "n"))


@dataclass(frozen=True)
class SurvivorSignature(WireMessage):
    """R3, client to server: Ed25519 signature on the survivor list S."""

    signature: bytes

    TYPE: ClassVar[int] = MsgType.SURVIVOR_SIGNATURE
    LAYOUT: ClassVar[Layout] = (Blob("signature", SIG_LEN, active_only=True),)


@dataclass(frozen=True)
class UnmaskRequest(WireMessage):
    """R4 request, server to client: U3 (bitmap_n) and, in active mode, signatures."""

    n: int
    survivors: tuple[int, ...]
    signatures: tuple[SignatureEntry, ...] | None = None

    TYPE: ClassVar[int] = MsgType.UNMASK_REQUEST
    SENDER: ClassVar[Sender] = Sender.SERVER
    LAYOUT: ClassVar[Layout] = (
        _BITMAP_N,
        IdSet("survivors", "n"),
        Maybe(
            Entries(
                "signatures",
                SignatureEntry,
                (Blob("signature", SIG_LEN),),
                noun="signer",
                universe="n",
            ),
            "has_signatures",
        ),
    )


@dataclass(frozen=True)
class UnmaskResponse(WireMessage):
    """R4, client to server: per secret owner v, the kind and the 40-byte share."""

    shares: tuple[ShareEntry, ...]

    TYPE: ClassVar[int] = MsgType.UNMASK_RESPONSE
    LAYOUT: ClassVar[Layout] = (
        Entries(
            "shares",
            ShareEntry,
            (
                UInt("kind", 1, kind=ShareKind, label="share kind"),
                Blob("share", SHARE_LEN, check=_share_below_p),
            ),
            noun="owner",
        ),
    )


@dataclass(frozen=True)
class AbortNotice(WireMessage):
    """Either direction: the sender aborted the session; ``reason`` says why.

    An over-long reason is cut to 1024 bytes on a character boundary when
    encoded, rather than refused: a party must always be able to abort.
    """

    reason: str

    TYPE: ClassVar[int] = MsgType.ABORT
    SENDER: ClassVar[Sender] = Sender.EITHER
    LAYOUT: ClassVar[Layout] = (Text("reason", MAX_REASON_BYTES),)


Message: TypeAlias = (
    ConfigRequest
    | KeyAdvert
    | AdvertForward
    | EncryptedShares
    | ShareForward
    | MaskedInput
    | SurvivorRequest
    | SurvivorSignature
    | UnmaskRequest
    | UnmaskResponse
    | AbortNotice
)

#: The eleven message types by type code.
_BY_TYPE: dict[int, type[Message]] = cast("dict[int, type[Message]]", codec.REGISTRY)


def decode(
    data: bytes | bytearray | memoryview, limits_or_config: Limits | Config | None = None
) -> Message:
    """:func:`secagg.protocol.codec.decode`, typed as one of this module's messages."""
    return cast(Message, codec.decode(data, limits_or_config))

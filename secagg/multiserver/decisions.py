"""A multi-server server's two decisions, their rules, and their durable record.

A server decides twice per session: which client set U it signs, and
whether it releases its partial sum over U. Each decision is taken at most
once (:class:`Decisions`), and the record of it goes to the ``persist``
callback before the signature or the sum may leave, so a restarted server
(built with the last blob) cannot take either decision again. When storing
fails the record stays bound to what was asked (fail closed): that exact
step may be retried, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .. import crypto
from ..exceptions import InvalidInputError, MalformedMessageError, RefusedError
from .params import MultiServerConfig, members_bitmap, members_from_bitmap
from .wire import SetStatement

__all__ = ["Decisions", "STATE_LABEL", "member_ids"]

STATE_LABEL = b"secagg/v1/ms/state"
_STATE_VERSION = 1
_SIGNED, _RELEASED = 1, 2


def member_ids(members: Iterable[int], limit: int = 8) -> str:
    """The first ``limit`` ids of a client set, for messages."""
    ids = sorted(members)
    return ", ".join(map(str, ids[:limit])) + (" ..." if len(ids) > limit else "")


class Decisions:
    """The set server ``index`` signed and whether it released, with their rules.

    Args:
        config: The session's parameters.
        session_id: The 32-byte session id.
        index: The server's index.
        persist: Called with the new state blob before a decision takes
            effect outside; None keeps the record in memory only.
        state: A blob of an earlier run of this server in this session.

    Raises:
        InvalidInputError: A state blob of another session, server or layout.
    """

    def __init__(
        self,
        config: MultiServerConfig,
        session_id: bytes,
        index: int,
        persist: Callable[[bytes], None] | None,
        state: bytes | None = None,
    ) -> None:
        self.config, self.session_id, self.index = config, session_id, index
        self._persist = persist
        self.signed: frozenset[int] | None = None
        self.released: frozenset[int] | None = None
        self._durable = True
        if state is not None:
            self._restore(state)

    def export(self) -> bytes:
        """The state blob, which holds no secret.

        Layout: "secagg/v1/ms/state" ‖ u8(1) ‖ sid ‖ u8(index) ‖ u8(flags:
        1 signed, 2 released) ‖ [u32be(n) ‖ bitmap of the signed set, if signed].
        """
        flags = (_SIGNED if self.signed is not None else 0) | (
            _RELEASED if self.released is not None else 0
        )
        out = STATE_LABEL + bytes([_STATE_VERSION]) + self.session_id
        out += bytes([self.index, flags])
        if self.signed is not None:
            out += members_bitmap(sorted(self.signed), self.config.n)
        return out

    def _restore(self, blob: bytes) -> None:
        head = len(STATE_LABEL) + 1 + 32 + 2
        if not isinstance(blob, (bytes, bytearray)) or len(blob) < head:
            raise InvalidInputError(f"a server state blob is at least {head} bytes.")
        blob = bytes(blob)
        if blob[: len(STATE_LABEL)] != STATE_LABEL or blob[len(STATE_LABEL)] != _STATE_VERSION:
            raise InvalidInputError("this is not a version-1 multi-server state blob.")
        pos = len(STATE_LABEL) + 1
        if blob[pos : pos + 32] != self.session_id or blob[pos + 32] != self.index:
            raise InvalidInputError(
                f"the state blob belongs to another session or server than server {self.index} "
                "of this session."
            )
        flags = blob[pos + 33]
        if flags not in (0, _SIGNED, _SIGNED | _RELEASED):
            raise InvalidInputError(f"the state blob has invalid flags 0x{flags:02x}.")
        rest = blob[head:]
        if not flags:
            if rest:
                raise InvalidInputError("an unsigned state blob must end after its flags.")
            return
        try:
            self.signed = members_from_bitmap(rest, self.config.n)
        except MalformedMessageError as exc:
            raise InvalidInputError(f"the state blob's signed set is malformed: {exc}") from exc
        if flags & _RELEASED:
            self.released = self.signed

    def _store(self) -> None:
        """Hand the current state to ``persist``; the caller may send only after this."""
        self._durable = False
        if self._persist is not None:
            self._persist(self.export())
        self._durable = True

    def approve_sign(self, members: frozenset[int], accepted: frozenset[int]) -> None:
        """Record (durably) that this server signs ``members``, or refuse.

        Raises:
            RefusedError: Another set was signed, |U| < n_min, or a member's
                bundle was not accepted.
        """
        j = self.index
        if self.signed is not None and self.signed != members:
            raise RefusedError(
                f"server {j} already signed the client set {{{member_ids(self.signed)}}} "
                f"in this session and signs at most one set; it refuses {{{member_ids(members)}}}."
            )
        if self.signed is None:
            if len(members) < self.config.n_min:
                raise RefusedError(
                    f"server {j} signs only sets of at least n_min = "
                    f"{self.config.n_min} clients, got {len(members)}."
                )
            missing = members - accepted
            if missing:
                raise RefusedError(
                    f"server {j} signs only clients whose valid bundle it holds; it has "
                    f"none from {{{member_ids(missing)}}}."
                )
            self.signed = members
            self._store()
        elif not self._durable:
            self._store()  # an earlier attempt failed to persist: finish it before signing

    def check_release(self, st: SetStatement, signatures: Sequence[bytes]) -> None:
        """Refuse a release this server must not make (nothing is recorded).

        Raises:
            RefusedError: Already released (and durably so, or over another
                set); this server signed another set or none; a server's
                signature on the statement is missing or does not verify.
        """
        members, j = st.members, self.index
        if self.released is not None and (self._durable or self.released != members):
            raise RefusedError(
                f"server {j} has already released its partial sum in this session; "
                "it releases at most once."
            )
        if self.signed != members:
            what = "no set" if self.signed is None else f"{{{member_ids(self.signed)}}}"
            raise RefusedError(
                f"server {j} releases only a sum over the set it signed, {what}; "
                f"the request is for {{{member_ids(members)}}}."
            )
        if len(signatures) != self.config.S:
            raise RefusedError(f"a release needs all S = {self.config.S} servers' signatures.")
        message = st.message()
        for k, (vk, sig) in enumerate(zip(self.config.server_verify_keys, signatures, strict=True)):
            if not crypto.ed25519_verify(vk, message, sig):
                raise RefusedError(
                    f"server {j} releases only with every server's signature on the "
                    f"same statement; server {k}'s does not verify."
                )

    def record_release(self, members: frozenset[int]) -> None:
        """Record (durably) the release over ``members``; the sum may leave only after this."""
        self.released = members
        self._store()

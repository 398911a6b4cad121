"""The server role: one of the S servers of multi-server additive sharing.

A server accepts each client's signed share bundle, then takes part in one
release. The danger is an honest server releasing two sums, over U and over
U \\ {v}: with S = 2 the other server could then subtract them and learn
x_v. So a server

- signs the statement ("secagg/v1/ms/set", sid, U) at most once per session,
  and only if |U| >= n_min and it accepted a valid bundle from every client
  of U;
- releases its partial sum at most once, and only on a request carrying all
  S servers' signatures on the very statement it signed itself.

Both decisions are recorded in a small state (:meth:`ShareServer.export_state`)
that is handed to the ``persist`` callback *before* a signature or a sum
leaves the object, so a restarted server (``state=`` the last blob) cannot
sign or release again. When a call fails part-way the object stays bound to
what it was asked (fail closed): it may repeat that exact step, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .. import crypto, masking, packing
from ..exceptions import (
    InvalidInputError,
    MalformedMessageError,
    ProtocolViolationError,
    RefusedError,
)
from .params import (
    MultiServerConfig,
    check_session_id,
    client_message,
    members_bitmap,
    members_from_bitmap,
    part_digest,
    partial_message,
    share_key,
)
from .seal import open_seed
from .wire import PartialSum, ReleaseRequest, SetSignature, SetStatement, ShareBundle

__all__ = ["ShareServer", "STATE_LABEL"]

STATE_LABEL = b"secagg/v1/ms/state"
_STATE_VERSION = 1
_SIGNED, _RELEASED = 1, 2


def _ids(members: Iterable[int], limit: int = 8) -> str:
    ids = sorted(members)
    return ", ".join(map(str, ids[:limit])) + (" ..." if len(ids) > limit else "")


class ShareServer:
    """Server ``index`` (0..S-1) of one multi-server session.

    Args:
        config: The session's parameters.
        session_id: The 32-byte session id.
        index: This server's index; S - 1 is the correction server.
        signing_key: This server's Ed25519 seed (its verification key must be
            ``config.server_verify_keys[index]``).
        seed_key: This server's X25519 private key (servers 0..S-2, matching
            ``config.seed_keys[index]``); None for the correction server.
        state: A blob from :meth:`export_state` (or ``persist``) of an earlier
            run of this server in this session; None for a fresh start.
        persist: Called with the new state blob before any signature or
            partial sum is returned; it must make the blob durable (or raise,
            and then nothing is returned). None keeps the state in memory
            only: a restarted server would then forget what it signed.

    Raises:
        InvalidInputError: Keys that do not match the config, a bad index, or
            a state blob of another session, server or layout.
    """

    def __init__(
        self,
        config: MultiServerConfig,
        session_id: bytes,
        index: int,
        *,
        signing_key: bytes,
        seed_key: bytes | None = None,
        state: bytes | None = None,
        persist: Callable[[bytes], None] | None = None,
    ) -> None:
        if not isinstance(config, MultiServerConfig):
            raise InvalidInputError(
                f"config must be a MultiServerConfig, got {type(config).__name__}."
            )
        self.config = config
        self.session_id = check_session_id(session_id)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < config.S:
            raise InvalidInputError(f"server index must lie in 0..{config.S - 1}, got {index!r}.")
        self.index = index
        if crypto.ed25519_public(signing_key) != config.server_verify_keys[index]:
            raise InvalidInputError(
                f"the signing key of server {index} does not match its pinned verification key."
            )
        self._signing_key = bytes(signing_key)
        self._seed_key: crypto.X25519Key | None = None
        if index == config.correction_server:
            if seed_key is not None:
                raise InvalidInputError(
                    f"server {index} receives correction vectors and takes no seed key."
                )
        else:
            if seed_key is None or crypto.x25519_public(seed_key) != config.seed_keys[index]:
                raise InvalidInputError(
                    f"server {index} needs the X25519 private key of its pinned seed key."
                )
            self._seed_key = crypto.x25519_load(seed_key)
        self._persist = persist
        self._shares: dict[int, object] = {}
        self._accepted: set[int] = set()
        self.bytes_received = 0
        self._signed: frozenset[int] | None = None
        self._released: frozenset[int] | None = None
        self._durable = True
        if state is not None:
            self._restore(state)

    # ------------------------------------------------------------ state

    @property
    def accepted(self) -> frozenset[int]:
        """Clients whose bundle this server accepted (in this run; kept after the release)."""
        return frozenset(self._accepted)

    @property
    def signed(self) -> frozenset[int] | None:
        """The client set this server signed, or None."""
        return self._signed

    @property
    def released(self) -> bool:
        """Whether this server has released its partial sum."""
        return self._released is not None

    def export_state(self) -> bytes:
        """The small state that must survive a restart.

        Layout: "secagg/v1/ms/state" ‖ u8(1) ‖ sid ‖ u8(index) ‖ u8(flags:
        1 signed, 2 released) ‖ [u32be(n) ‖ bitmap of the signed set, if signed].
        It holds no secret. Store only the newest blob: restoring an older one
        makes a second server that may sign or release again.
        """
        flags = (_SIGNED if self._signed is not None else 0) | (
            _RELEASED if self._released is not None else 0
        )
        out = STATE_LABEL + bytes([_STATE_VERSION]) + self.session_id
        out += bytes([self.index, flags])
        if self._signed is not None:
            out += members_bitmap(sorted(self._signed), self.config.n)
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
            self._signed = members_from_bitmap(rest, self.config.n)
        except MalformedMessageError as exc:
            raise InvalidInputError(f"the state blob's signed set is malformed: {exc}") from exc
        if flags & _RELEASED:
            self._released = self._signed

    def _store(self) -> None:
        """Hand the current state to ``persist``; the caller may send only after this."""
        self._durable = False
        if self._persist is not None:
            self._persist(self.export_state())
        self._durable = True

    # ------------------------------------------------------------ bundles

    def receive(self, data: bytes) -> bool:
        """Check and keep one client's share bundle.

        Args:
            data: The bytes of a ShareBundle addressed to this server.

        Returns:
            True if accepted; False if this client's bundle was already
            accepted (the first one is kept and later ones are discarded).

        Raises:
            MalformedMessageError: The bytes do not decode for this session.
            ProtocolViolationError: Another session or server, a digest or
                client signature that does not verify, or a seed that does
                not open.
            RefusedError: This server has already released its sum.
        """
        if self._released is not None:
            raise RefusedError(
                f"server {self.index} has released its partial sum and accepts no more bundles "
                "in this session."
            )
        bundle = ShareBundle.from_bytes(data, self.config)
        u, j = bundle.client, self.index
        if bundle.session_id != self.session_id:
            raise ProtocolViolationError(
                f"client {u}'s bundle carries another session id than this session's."
            )
        if bundle.server != j:
            raise ProtocolViolationError(
                f"client {u}'s bundle is addressed to server {bundle.server}, this is server {j}."
            )
        if u in self._accepted:
            return False
        digest = part_digest(self.session_id, u, j, bundle.salt, bundle.payload)
        if digest != bundle.digests[j]:
            raise ProtocolViolationError(
                f"client {u}'s bundle for server {j} does not match the digest d_{j} it signed."
            )
        message = client_message(self.session_id, u, bundle.digests)
        if not crypto.ed25519_verify(self.config.registry[u], message, bundle.signature):
            raise ProtocolViolationError(
                f"client {u}'s bundle signature does not verify with its registered key."
            )
        if self._seed_key is None:
            share: object = packing.unpack(bundle.payload, self.config.m, self.config.b)
        else:
            seed = open_seed(
                self._seed_key, self.config.seed_keys[j], bundle.payload, self.session_id, u, j
            )
            share = share_key(seed, self.session_id, u, j)
        self._shares[u] = share
        self._accepted.add(u)
        self.bytes_received += len(data)
        return True

    # ------------------------------------------------------------ statements

    def _statement(self, statement: SetStatement | bytes) -> SetStatement:
        if isinstance(statement, SetStatement):
            st = SetStatement(statement.session_id, self.config.n, frozenset(statement.members))
            members_bitmap(st.members, st.n)  # every member must be a client id
        else:
            st = SetStatement.from_bytes(statement, self.config)
        if st.session_id != self.session_id:
            raise ProtocolViolationError("the statement carries another session id.")
        return st

    def sign(self, statement: SetStatement | bytes) -> bytes:
        """Sign the statement that the session's sum covers exactly the set U.

        Args:
            statement: A SetStatement or its bytes.

        Returns:
            The bytes of this server's SetSignature (the same bytes again if
            asked twice for the identical statement).

        Raises:
            RefusedError: This server already signed another set, |U| < n_min,
                or it holds no valid bundle from some client of U.
            MalformedMessageError, ProtocolViolationError: A bad statement.
        """
        st = self._statement(statement)
        members = st.members
        if self._signed is not None and self._signed != members:
            raise RefusedError(
                f"server {self.index} already signed the client set {{{_ids(self._signed)}}} "
                f"in this session and signs at most one set; it refuses {{{_ids(members)}}}."
            )
        if self._signed is None:
            if len(members) < self.config.n_min:
                raise RefusedError(
                    f"server {self.index} signs only sets of at least n_min = "
                    f"{self.config.n_min} clients, got {len(members)}."
                )
            missing = members - self._accepted
            if missing:
                raise RefusedError(
                    f"server {self.index} signs only clients whose valid bundle it holds; it has "
                    f"none from {{{_ids(missing)}}}."
                )
            self._signed = members
            self._store()
        elif not self._durable:
            self._store()  # an earlier attempt failed to persist: finish it before signing
        signature = crypto.ed25519_sign(self._signing_key, st.message())
        return SetSignature(st, self.index, signature).to_bytes()

    def release(self, request: ReleaseRequest | bytes) -> bytes:
        """Release this server's partial sum over U, once per session.

        Args:
            request: A ReleaseRequest (or its bytes) with all S servers'
                signatures on one statement.

        Returns:
            The bytes of this server's signed PartialSum.

        Raises:
            RefusedError: A partial sum was already released; this server did
                not sign this statement (another set, or none); a server's
                signature does not verify; or it lacks the bundles of U.
            MalformedMessageError, ProtocolViolationError: A bad request.
        """
        if not isinstance(request, ReleaseRequest):
            request = ReleaseRequest.from_bytes(request, self.config)
        st = self._statement(request.statement)
        members = st.members
        if self._released is not None and (self._durable or self._released != members):
            raise RefusedError(
                f"server {self.index} has already released its partial sum in this session; "
                "it releases at most once."
            )
        if self._signed != members:
            what = "no set" if self._signed is None else f"{{{_ids(self._signed)}}}"
            raise RefusedError(
                f"server {self.index} releases only a sum over the set it signed, {what}; "
                f"the request is for {{{_ids(members)}}}."
            )
        if len(request.signatures) != self.config.S:
            raise RefusedError(f"a release needs all S = {self.config.S} servers' signatures.")
        message = st.message()
        for k, (vk, sig) in enumerate(
            zip(self.config.server_verify_keys, request.signatures, strict=True)
        ):
            if not crypto.ed25519_verify(vk, message, sig):
                raise RefusedError(
                    f"server {self.index} releases only with every server's signature on the "
                    f"same statement; server {k}'s does not verify."
                )
        missing = members - self._shares.keys()
        if missing:
            raise RefusedError(
                f"server {self.index} lacks the bundles of clients {{{_ids(missing)}}}; feed "
                "them again before the release."
            )
        packed = packing.pack(self._partial(sorted(members)), self.config.b)
        self._released = members
        self._store()
        self._shares.clear()
        signature = crypto.ed25519_sign(
            self._signing_key, partial_message(self.session_id, self.index, st.bitmap, packed)
        )
        return PartialSum(
            st, self.index, self.config.b, self.config.m, packed, signature
        ).to_bytes()

    def _partial(self, members: list[int]) -> np.ndarray:
        acc = np.zeros(self.config.m, dtype=self.config.dtype)
        if self._seed_key is None:
            for u in members:
                share = self._shares[u]
                assert isinstance(share, np.ndarray)
                masking.add_into(acc, share, self.config.b)
        else:
            keys = [self._shares[u] for u in members]
            masking.apply_masks(acc, keys, [1] * len(keys), self.config.b)  # type: ignore[arg-type]
        return acc

    def __repr__(self) -> str:
        return (
            f"ShareServer(index={self.index}, accepted={len(self._accepted)}, "
            f"signed={self._signed is not None}, released={self._released is not None})"
        )

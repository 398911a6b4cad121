"""The client state machine (PROTOCOL.md §8, one object per session).

A :class:`Client` holds one vector and runs exactly one session. The caller
hands it every message the server sent it, in order, with
:meth:`Client.handle`, and sends back the bytes it returns. There is no I/O,
no thread and no clock inside: the caller's transport moves the bytes (and
must keep them confidential, and in semi_honest mode authenticate both ends;
see docs/api.md).

States (``client.state``): ``R0_ADVERTISE_KEYS`` (waiting for the config),
``R1_SHARE_KEYS`` (waiting for the forwarded adverts),
``R2_MASKED_INPUT_COLLECTION`` (waiting for the forwarded ciphertexts),
``R3_CONSISTENCY_CHECK`` (active mode: waiting for the survivor list),
``R4_UNMASKING`` (waiting for the unmasking request), then ``COMPLETED`` or
``ABORTED``. Anything a peer does wrong (a malformed message, a wrong session
id, round or type, a list that breaks a rule of §8, a signature, advert or
ciphertext that fails to verify) moves the client to ``ABORTED`` with a
sentence in ``abort_reason``; it then reveals nothing more and ignores every
further message. Secrets are dropped (bytearrays overwritten) at COMPLETED and
ABORTED; Python cannot guarantee erasure of immutable copies.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import crypto, masking, packing, prg, shamir
from ..exceptions import InvalidInputError, MalformedMessageError, SecAggError
from ..prg import pair_purpose
from .config import Config
from .graph import Graph
from .messages import (
    SHARE_LEN,
    AbortNotice,
    AdvertForward,
    CiphertextOut,
    ConfigRequest,
    EncryptedShares,
    KeyAdvert,
    MaskedInput,
    ShareEntry,
    ShareForward,
    SurvivorRequest,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
    decode,
    encode_bitmap,
    peek_header,
)
from .policy import ClientPolicy
from .registry import registry_digest
from .vocabulary import (
    AbortCode,
    Mode,
    MsgType,
    Rng,
    ShareKind,
    State,
    default_rng,
    notice_reason,
    share_aad,
)

__all__ = ["Client", "State"]

_P = (1 << 61) - 1
_EXPECTED = {
    State.R0_ADVERTISE_KEYS: MsgType.CONFIG_REQUEST,
    State.R1_SHARE_KEYS: MsgType.ADVERT_FORWARD,
    State.R2_MASKED_INPUT_COLLECTION: MsgType.SHARE_FORWARD,
    State.R3_CONSISTENCY_CHECK: MsgType.SURVIVOR_REQUEST,
    State.R4_UNMASKING: MsgType.UNMASK_REQUEST,
}


class _Refuse(Exception):
    """Internal: a rule of §8 tells the client to abort.

    ``code`` (and ``peer``, the client whose message failed) is all the abort
    notice carries; the sentence stays in the client's ``abort_reason``.
    """

    def __init__(self, code: AbortCode, detail: str, peer: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.peer = peer


_SHARE_VALUES = struct.Struct(f"<{SHARE_LEN // 8}Q")


def _valid_share(share: bytes) -> bool:
    return len(share) == SHARE_LEN and max(_SHARE_VALUES.unpack(share)) < _P


class Client:
    """One client's side of one aggregation session.

    Args:
        config: The session config this client expects, or None to accept the
            one the server's R0 request carries if ``policy`` allows it. When
            given, the R0 request must carry exactly this config.
        client_id: This client's id, 1..n.
        vector: The input, length m, words < 2^b (any unsigned or signed
            integer dtype holding such values); copied at construction.
        signing_key: Ed25519 signing key (active mode).
        verify_keys: The registry id -> Ed25519 verification key for ids 1..n,
            from a source the server cannot change (active mode). Its digest
            must equal the config's registry digest.
        policy: The operator's :class:`~secagg.protocol.config.ClientPolicy`; checked
            against the config of the R0 request.
        authority_vk: The config authority's Ed25519 verification key (active
            mode): the R0 request's signature must verify under it.
        rng: Source of random bytes (default ``os.urandom``); inject only in
            tests.

    Raises:
        InvalidInputError: Bad arguments (id, vector, missing active-mode keys).
    """

    def __init__(
        self,
        config: Config | None,
        client_id: int,
        vector: np.ndarray,
        *,
        signing_key: bytes | None = None,
        verify_keys: Mapping[int, bytes] | None = None,
        policy: ClientPolicy | None = None,
        authority_vk: bytes | None = None,
        rng: Rng | None = None,
    ) -> None:
        if config is None and policy is None:
            raise InvalidInputError(
                "a client needs either the session config or a policy to judge the "
                "config the server sends."
            )
        if isinstance(client_id, bool) or not isinstance(client_id, (int, np.integer)):
            raise InvalidInputError(f"client_id must be an integer, got {client_id!r}.")
        client_id = int(client_id)
        if client_id < 1 or (config is not None and client_id > config.n):
            raise InvalidInputError(
                f"client_id {client_id} is not a client id of the session (1..n)."
            )
        vec = np.asarray(vector)
        if vec.ndim != 1:
            raise InvalidInputError(f"the input vector must be 1-D, got shape {vec.shape}.")
        if config is not None:
            self._check_vector(vec, config)
        # A policy pinning a registry digest accepts only active configs.
        wants_active = (config is not None and config.mode is Mode.ACTIVE) or (
            policy is not None and policy.registry_digest is not None
        )
        if wants_active:
            if signing_key is None or verify_keys is None or authority_vk is None:
                raise InvalidInputError(
                    "active mode needs the client's signing_key, the registry's "
                    "verify_keys and the config authority's authority_vk."
                )
        self.id = client_id
        self._expected_config = config
        self.config: Config | None = config
        self._input = np.array(vec, copy=True)
        self._signing_key = signing_key
        self._verify_keys = dict(verify_keys) if verify_keys is not None else None
        self._policy = policy
        self._authority_vk = authority_vk
        self._rng: Rng = rng if rng is not None else default_rng
        self.state = State.R0_ADVERTISE_KEYS
        self.abort_reason: str | None = None
        #: The rule the abort notice named (None unless ABORTED by a refusal).
        self.abort_code: AbortCode | None = None
        self.session_id: bytes | None = None
        self._request_sid: bytes | None = None
        #: Messages received after the session ended (ignored).
        self.ignored = 0
        self._reset_secrets()

    # ------------------------------------------------------------------ API

    def handle(self, data: bytes) -> list[bytes]:
        """Process one message from the server and return the replies to send.

        Never raises because of what the server (or a peer) sent: any decoding
        or verification failure or rule violation moves the client to
        ``ABORTED`` and returns an abort notice for the server.

        Args:
            data: One complete message as received.

        Returns:
            The messages to send to the server (empty when there is nothing
            to say, e.g. after the session ended).
        """
        if self.state in (State.COMPLETED, State.ABORTED):
            self.ignored += 1
            return []
        try:
            return self._dispatch(data)
        except _Refuse as exc:
            return self._abort(str(exc), exc.code, exc.peer)
        except MalformedMessageError as exc:
            return self._abort(str(exc), AbortCode.MALFORMED_MESSAGE)
        except (SecAggError, ValueError) as exc:
            # Every rule of §8 is checked where it applies and raised as a
            # _Refuse with its code; anything else reaching here is a check
            # this client did not classify, reported without its details.
            return self._abort(str(exc), AbortCode.INTERNAL_ERROR)
        except Exception as exc:  # a bug: still never leave secrets behind
            self._abort(
                f"internal error while handling a message: {exc!r}", AbortCode.INTERNAL_ERROR
            )
            raise

    @property
    def active(self) -> bool:
        """True when the session (once known) runs in active mode."""
        return self.config is not None and self.config.mode is Mode.ACTIVE

    # -------------------------------------------------------------- helpers

    @staticmethod
    def _check_vector(vec: np.ndarray, config: Config) -> None:
        if vec.shape != (config.m,):
            raise InvalidInputError(
                f"the input vector has shape {vec.shape}, the config needs ({config.m},)."
            )
        if vec.dtype.kind not in "ui":
            raise InvalidInputError(f"the input vector must be integers, got {vec.dtype}.")
        if vec.size and (int(vec.min()) < 0 or int(vec.max()) >= 1 << config.b):
            raise InvalidInputError(
                f"input words must lie in 0..2^{config.b} - 1; got values in "
                f"{int(vec.min())}..{int(vec.max())}."
            )

    def _reset_secrets(self) -> None:
        self._c_sk: bytes | None = None
        self._s_sk: bytes | None = None
        self._c_key: crypto.X25519Key | None = None
        self._s_key: crypto.X25519Key | None = None
        self._b: bytearray | None = None
        self._channel: dict[int, bytes] = {}
        self._s_pks: dict[int, bytes] = {}
        self._own_b_share: bytes | None = None
        self._own_sk_share: bytes | None = None
        self._held: dict[int, tuple[bytes, bytes]] = {}
        self._masking_set: tuple[int, ...] = ()
        self._u1: tuple[int, ...] = ()
        self._transcript_hash: bytes | None = None
        self._signed_u3: tuple[int, ...] | None = None

    def _erase(self) -> None:
        if self._b is not None:
            self._b[:] = bytes(len(self._b))
        if hasattr(self, "_input"):
            self._input.fill(0)
        self._reset_secrets()

    def _abort(self, reason: str, code: AbortCode, peer: int | None = None) -> list[bytes]:
        self.state = State.ABORTED
        self.abort_reason = reason
        self.abort_code = code
        self._erase()
        # Before the session id is established (a refused R0 request), the
        # notice echoes the id the request carried so the server can log why.
        sid = self.session_id if self.session_id is not None else self._request_sid
        if sid is None:
            return []
        # Only the rule and the peer leave the client (§8): the sentence in
        # abort_reason may name values derived from the input or the keys.
        return [AbortNotice(sid, self.id, notice_reason(code, peer)).to_bytes()]

    def _dispatch(self, data: bytes) -> list[bytes]:
        mtype, sid, _sender = peek_header(data)
        if self.session_id is None:
            self._request_sid = sid
        if mtype == MsgType.ABORT:
            msg = decode(data, self.config)
            assert isinstance(msg, AbortNotice)
            if self.session_id is not None and msg.session_id != self.session_id:
                raise _Refuse(
                    AbortCode.WRONG_SESSION,
                    f"received an abort notice for another session ({msg.session_id.hex()[:16]}…).",
                )
            self.state = State.ABORTED
            self.abort_reason = f"the server aborted the session: {msg.reason}"
            self._erase()
            return []
        expected = _EXPECTED[self.state]
        if mtype != expected:
            raise _Refuse(
                AbortCode.UNEXPECTED_MESSAGE,
                f"in state {self.state.value} the client accepts only message type "
                f"0x{expected:02x}, got 0x{mtype:02x}.",
            )
        if self.session_id is not None and sid != self.session_id:
            raise _Refuse(
                AbortCode.WRONG_SESSION,
                f"the message carries session id {sid.hex()[:16]}…, this session is "
                f"{self.session_id.hex()[:16]}….",
            )
        msg = decode(data, self.config)
        if isinstance(msg, ConfigRequest):
            return self._on_config(msg)
        if isinstance(msg, AdvertForward):
            return self._on_adverts(msg)
        if isinstance(msg, ShareForward):
            return self._on_shares(msg)
        if isinstance(msg, SurvivorRequest):
            return self._on_survivors(msg)
        assert isinstance(msg, UnmaskRequest)
        return self._on_unmask(msg)

    # ------------------------------------------------------------------- R0

    def _on_config(self, msg: ConfigRequest) -> list[bytes]:
        if self._expected_config is not None:
            if msg.config != self._expected_config.canonical():
                raise _Refuse(
                    AbortCode.CONFIG_REFUSED,
                    "the R0 request carries another config than the one this client was built for.",
                )
            config = self._expected_config
        else:
            config = Config.from_canonical(msg.config)
        if self._policy is not None:
            # Checked before anything sized by n is built (policy.max_n).
            try:
                self._policy.check(config)
            except SecAggError as exc:
                raise _Refuse(AbortCode.CONFIG_REFUSED, str(exc)) from None
        if config.mode is Mode.ACTIVE:
            if self._signing_key is None or self._verify_keys is None or self._authority_vk is None:
                raise _Refuse(
                    AbortCode.CONFIG_REFUSED,
                    "the config asks for active mode, but this client holds no signing key, "
                    "registry or config-authority key.",
                )
            if msg.signature is None or not crypto.ed25519_verify(
                self._authority_vk, crypto.config_message(msg.nonce, msg.config), msg.signature
            ):
                raise _Refuse(
                    AbortCode.CONFIG_SIGNATURE_INVALID,
                    "the config authority's signature on the config does not verify.",
                )
            try:
                digest = registry_digest(self._verify_keys, config.n)
            except InvalidInputError as exc:
                raise _Refuse(AbortCode.REGISTRY_MISMATCH, str(exc)) from None
            if digest != config.registry_digest:
                raise _Refuse(
                    AbortCode.REGISTRY_MISMATCH,
                    "the config's registry digest does not match this client's registry "
                    f"({config.registry_digest.hex()[:16]}… vs {digest.hex()[:16]}…).",
                )
        if self.id > config.n:
            raise _Refuse(
                AbortCode.CONFIG_REFUSED,
                f"this client's id {self.id} is outside the config's 1..{config.n}.",
            )
        try:
            self._check_vector(self._input, config)
        except InvalidInputError as exc:
            raise _Refuse(AbortCode.INPUT_INVALID, str(exc)) from None
        sid = config.session_id(msg.nonce)
        if sid != msg.session_id:
            raise _Refuse(
                AbortCode.SESSION_ID_INVALID,
                "the R0 request's session id is not SHA-256(label ‖ nonce ‖ config) of "
                "the config it carries.",
            )
        self.config = config
        self.session_id = sid
        self._graph = Graph.build(config, sid)
        self._neighbours: tuple[int, ...] = tuple(self._graph.neighbours(self.id))
        self._c_sk, self._c_pk = crypto.x25519_keypair(self._rng)
        self._s_sk, self._s_pk = crypto.x25519_keypair(self._rng)
        # Loaded once for the session: one agreement per neighbour follows.
        self._c_key = crypto.x25519_load(self._c_sk)
        self._s_key = crypto.x25519_load(self._s_sk)
        sig = None
        if config.mode is Mode.ACTIVE:
            assert self._signing_key is not None
            sig = crypto.ed25519_sign(
                self._signing_key, crypto.advert_message(sid, self.id, self._c_pk, self._s_pk)
            )
        self.state = State.R1_SHARE_KEYS
        return [KeyAdvert(sid, self.id, self._c_pk, self._s_pk, sig).to_bytes()]

    # ------------------------------------------------------------------- R1

    def _on_adverts(self, msg: AdvertForward) -> list[bytes]:
        config = self.config
        assert config is not None and self.session_id is not None
        sid = self.session_id
        nbrs = set(self._neighbours)
        ids = [a.id for a in msg.adverts]
        if config.mode is Mode.ACTIVE:
            own = [a for a in msg.adverts if a.id == self.id]
            if not own or own[0].c_pk != self._c_pk or own[0].s_pk != self._s_pk:
                raise _Refuse(
                    AbortCode.OWN_ADVERT_CHANGED,
                    "the forwarded advert list does not hold this client's own advert unchanged.",
                )
            assert self._verify_keys is not None
            for a in msg.adverts:
                vk = self._verify_keys.get(a.id)
                if (
                    vk is None
                    or a.signature is None
                    or not crypto.ed25519_verify(
                        vk, crypto.advert_message(sid, a.id, a.c_pk, a.s_pk), a.signature
                    )
                ):
                    raise _Refuse(
                        AbortCode.ADVERT_INVALID,
                        f"the key advert of client {a.id} has an invalid signature.",
                        a.id,
                    )
            if len(ids) < config.n_min:
                raise _Refuse(
                    AbortCode.TOO_FEW_SURVIVORS,
                    f"only {len(ids)} clients advertised keys, fewer than n_min = {config.n_min}.",
                )
            self._transcript_hash = crypto.transcript_hash(
                sid, {a.id: (a.c_pk, a.s_pk) for a in msg.adverts}
            )
        else:
            outside = [i for i in ids if i not in nbrs]
            if outside:
                raise _Refuse(
                    AbortCode.LIST_NOT_SUBSET,
                    f"the forwarded adverts include clients {outside[:5]} that are not "
                    "neighbours of this client.",
                )
        seen: set[bytes] = set()
        others = [a for a in msg.adverts if a.id != self.id]
        for a in others:
            if a.id not in nbrs:
                continue
            try:
                for key in (a.c_pk, a.s_pk):
                    crypto.check_public_key(key)
                    if key in seen or key in (self._c_pk, self._s_pk):
                        raise _Refuse(
                            AbortCode.ADVERT_INVALID,
                            f"the advert of client {a.id} repeats a key seen before.",
                            a.id,
                        )
                    seen.add(key)
                assert self._c_key is not None
                self._channel[a.id] = self._c_key.channel_key(a.c_pk, sid)
            except SecAggError as exc:
                raise _Refuse(
                    AbortCode.ADVERT_INVALID, f"the advert of client {a.id}: {exc}", a.id
                ) from None
            self._s_pks[a.id] = a.s_pk
        holders = sorted([self.id, *self._channel])
        if len(holders) < config.t:
            raise _Refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {len(holders)} of this client's holders advertised keys, fewer "
                f"than t = {config.t}.",
            )
        self._u1 = tuple(holders)
        self._b = bytearray(self._rng(32))
        assert self._s_sk is not None
        per = shamir.random_bytes_needed(32, config.t)
        shares = shamir.split(
            [bytes(self._b), self._s_sk],
            config.t,
            holders,
            rand=self._rng(per) + self._rng(per),
        )
        b_shares, sk_shares = shares
        cts = []
        for j, v in enumerate(holders):
            if v == self.id:
                self._own_b_share, self._own_sk_share = b_shares[j], sk_shares[j]
                continue
            ct = crypto.aes_gcm_encrypt(
                self._channel[v],
                b_shares[j] + sk_shares[j],
                share_aad(sid, self.id, v),
                nonce=self._rng(12),
            )
            cts.append(CiphertextOut(v, ct))
        com = crypto.self_commitment(sid, self.id, bytes(self._b))
        self.state = State.R2_MASKED_INPUT_COLLECTION
        return [EncryptedShares(sid, self.id, com, tuple(cts)).to_bytes()]

    # ------------------------------------------------------------------- R2

    def _on_shares(self, msg: ShareForward) -> list[bytes]:
        config = self.config
        assert config is not None and self.session_id is not None and self._b is not None
        sid = self.session_id
        senders = [c.sender for c in msg.ciphertexts]
        outside = [v for v in senders if v not in self._channel]
        if outside:
            raise _Refuse(
                AbortCode.LIST_NOT_SUBSET,
                f"the forwarded ciphertexts come from clients {outside[:5]} outside the "
                "neighbours whose adverts this client received (M_u ⊄ U1 ∩ N(u)).",
            )
        for c in msg.ciphertexts:
            try:
                plain = crypto.aes_gcm_decrypt(
                    self._channel[c.sender], c.ciphertext, share_aad(sid, c.sender, self.id)
                )
            except SecAggError as exc:
                raise _Refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the share ciphertext from client {c.sender}: {exc}",
                    c.sender,
                ) from None
            if len(plain) != 2 * SHARE_LEN:
                raise _Refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the share ciphertext from client {c.sender} decrypts to {len(plain)} "
                    f"bytes, not {2 * SHARE_LEN}.",
                    c.sender,
                )
            b_sh, sk_sh = plain[:SHARE_LEN], plain[SHARE_LEN:]
            if not (_valid_share(b_sh) and _valid_share(sk_sh)):
                raise _Refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the shares from client {c.sender} hold a value ≥ p.",
                    c.sender,
                )
            self._held[c.sender] = (b_sh, sk_sh)
        self._masking_set = tuple(senders)
        if len(senders) + 1 < config.t:
            raise _Refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {len(senders)} neighbours sent shares; with this client that is "
                f"fewer than t = {config.t} holders.",
            )
        y = np.array(self._input, dtype=config.dtype, copy=True)
        assert self._s_key is not None
        keys = [prg.derive_key(bytes(self._b), sid, "self")]
        signs = [1]
        shared = self._s_key.shared_many([self._s_pks[v] for v in senders])
        for v, s_uv in zip(senders, shared, strict=True):
            keys.append(prg.derive_key(s_uv, sid, pair_purpose(self.id, v)))
            signs.append(1 if self.id < v else -1)
        masking.apply_masks(y, keys, signs, config.b)
        packed = packing.pack(y, config.b)
        index = {v: j for j, v in enumerate(self._neighbours)}
        bitmap = encode_bitmap([index[v] for v in senders], len(self._neighbours))
        self._input.fill(0)
        self.state = (
            State.R3_CONSISTENCY_CHECK if config.mode is Mode.ACTIVE else State.R4_UNMASKING
        )
        return [
            MaskedInput(
                sid, self.id, len(self._neighbours), bitmap, config.b, config.m, packed
            ).to_bytes()
        ]

    # ------------------------------------------------------------------- R3

    def _check_survivors(self, survivors: tuple[int, ...], unmasking: bool = False) -> None:
        config = self.config
        assert config is not None
        u3 = set(survivors)
        if self.id not in u3:
            raise _Refuse(
                AbortCode.NOT_A_SURVIVOR,
                f"this client ({self.id}) is absent from the survivor list.",
            )
        missing = [v for v in self._neighbours if v in u3 and v not in self._masking_set]
        if missing:
            raise _Refuse(
                AbortCode.LIST_NOT_SUBSET,
                f"the survivor list names neighbours {missing[:5]} that are not in this "
                "client's masking set (U3 ∩ N(u) ⊄ M_u).",
            )
        live_neighbours = sum(1 for v in self._neighbours if v in u3)
        if live_neighbours + 1 < config.t:
            raise _Refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {live_neighbours + 1} of this client's holders survive, fewer than "
                f"t = {config.t}.",
            )
        if len(u3) < config.n_min:
            raise _Refuse(
                AbortCode.TOO_FEW_SURVIVORS,
                f"the survivor list has {len(u3)} clients, fewer than n_min = {config.n_min}.",
            )
        if unmasking and live_neighbours < config.c + 1:
            # With b_u released, y_u minus the surviving neighbours' pairwise
            # masks is x_u: if every one of them could be a colluder, answering
            # would hand the server this client's input.
            raise _Refuse(
                AbortCode.TOO_FEW_NEIGHBOURS,
                f"only {live_neighbours} of this client's neighbours survive, fewer than "
                f"c + 1 = {config.c + 1}: all of them could be colluders.",
            )

    def _on_survivors(self, msg: SurvivorRequest) -> list[bytes]:
        assert self.session_id is not None and self._transcript_hash is not None
        assert self._signing_key is not None and self.config is not None
        self._check_survivors(msg.survivors)
        bm = encode_bitmap([v - 1 for v in msg.survivors], self.config.n)
        sig = crypto.ed25519_sign(
            self._signing_key, crypto.survivors_message(self._transcript_hash, bm)
        )
        self._signed_u3 = msg.survivors
        self.state = State.R4_UNMASKING
        return [SurvivorSignature(self.session_id, self.id, sig).to_bytes()]

    # ------------------------------------------------------------------- R4

    def _on_unmask(self, msg: UnmaskRequest) -> list[bytes]:
        config = self.config
        assert config is not None and self.session_id is not None
        self._check_survivors(msg.survivors, unmasking=True)
        u3 = set(msg.survivors)
        owners = sorted({self.id, *self._masking_set})
        if config.mode is Mode.ACTIVE:
            if msg.survivors != self._signed_u3:
                raise _Refuse(
                    AbortCode.SURVIVOR_LIST_CHANGED,
                    "the unmasking request's survivor list is not the one this client signed.",
                )
            assert msg.signatures is not None and self._verify_keys is not None
            assert self._transcript_hash is not None
            s_msg = crypto.survivors_message(
                self._transcript_hash, encode_bitmap([v - 1 for v in msg.survivors], config.n)
            )
            valid: set[int] = set()
            for entry in msg.signatures:
                if entry.id not in u3:
                    raise _Refuse(
                        AbortCode.SIGNATURE_INVALID,
                        f"the unmasking request carries a signature of client {entry.id}, "
                        "which is not a survivor.",
                        entry.id,
                    )
                vk = self._verify_keys.get(entry.id)
                if vk is None or not crypto.ed25519_verify(vk, s_msg, entry.signature):
                    raise _Refuse(
                        AbortCode.SIGNATURE_INVALID,
                        f"the survivor-list signature of client {entry.id} does not verify.",
                        entry.id,
                    )
                valid.add(entry.id)
            # H(v) ∩ U3 = U3 on the complete graph (the only active-mode graph).
            answerable = []
            for v in owners:
                h_v = {v, *self._graph.neighbours(v)}
                if len(valid & h_v & u3) >= config.t:
                    answerable.append(v)
            if not answerable:
                raise _Refuse(
                    AbortCode.TOO_FEW_SIGNATURES,
                    f"only {len(valid)} valid survivor-list signatures, fewer than "
                    f"t = {config.t} from any secret's holders.",
                )
            owners = answerable
        entries = []
        for v in owners:
            if v == self.id:
                assert self._own_b_share is not None
                entries.append(ShareEntry(v, ShareKind.SELF_MASK, self._own_b_share))
            elif v in u3:
                entries.append(ShareEntry(v, ShareKind.SELF_MASK, self._held[v][0]))
            else:
                entries.append(ShareEntry(v, ShareKind.SECRET_KEY, self._held[v][1]))
        out = UnmaskResponse(self.session_id, self.id, tuple(entries)).to_bytes()
        self.state = State.COMPLETED
        self._erase()
        return [out]

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Client(id={self.id}, state={self.state.value}{extra})"

    # Never let key material reach logs through the default dataclass-like repr.
    def __getstate__(self) -> Any:
        raise TypeError("a Client holds session secrets and cannot be pickled.")

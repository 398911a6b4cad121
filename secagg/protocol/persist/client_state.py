"""Encoding of a client's round state for export (PROTOCOL.md §13).

What a state holds is written field by field in a fixed order: the session
(canonical config and nonce; the session id is recomputed and must match the
envelope's), then the state's own data. Nothing the client does not hold in
that round is written, and the node-local trust anchors (signing key,
registry, authority key, policy) never are: the caller passes them again on
restore.
"""

from __future__ import annotations

import numpy as np

from ... import shamir
from ...exceptions import MalformedMessageError
from ..client_rounds import (
    ClientState,
    Held,
    R1ShareKeys,
    R2MaskedInputCollection,
    R3ConsistencyCheck,
    R4Unmasking,
    Secrets,
    Session,
)
from ..config import CANONICAL_SIZE, Config
from ..vocabulary import DIGEST_LEN, KEY_LEN, NONCE_LEN, SHARE_LEN, State
from .fields import StateReader, StateWriter

__all__ = ["decode_client_state", "encode_client_state"]

_SECRET = 32


def encode_client_state(state: ClientState) -> bytes:
    """The plaintext of an exported client state (R1..R4 only)."""
    w = StateWriter()
    if isinstance(state, R1ShareKeys):
        _session(w, state.session)
        s = state.secrets
        for part in (s.c_sk, s.s_sk, bytes(s.b), s.nonce_seed):
            w.fixed(part)
        w.var(s.rand_b)
        w.var(s.rand_sk)
        w.vector(state.words)
        w.fixed(state.c_pk)
        w.fixed(state.s_pk)
    elif isinstance(state, R2MaskedInputCollection):
        _session(w, state.session)
        w.fixed(state.s_sk)
        w.fixed(bytes(state.b))
        w.vector(state.words)
        w.table({v: (key, state.s_pks[v]) for v, key in state.channel.items()})
        w.fixed(state.own[0])
        w.fixed(state.own[1])
        w.optional(state.transcript)
    elif isinstance(state, (R3ConsistencyCheck, R4Unmasking)):
        held = state.held
        _session(w, held.session)
        w.table(held.shares)
        w.fixed(held.own[0])
        w.fixed(held.own[1])
        w.optional(held.transcript)
        if isinstance(state, R4Unmasking):
            w.uint(1, int(state.signed is not None), "signed")
            if state.signed is not None:
                w.ids(state.signed)
    else:
        raise MalformedMessageError(f"a client in state {state.STATE.value} is not exported.")
    return w.getvalue()


def decode_client_state(tag: State, data: bytes, session_id: bytes, client_id: int) -> ClientState:
    """The client state an exported plaintext describes.

    Raises:
        MalformedMessageError: Any field is malformed or the session does not
            match the envelope's session id.
    """
    r = StateReader(data)
    session = _read_session(r, session_id, client_id)
    config = session.config
    state: ClientState
    if tag is State.R1_SHARE_KEYS:
        c_sk, s_sk, b, seed = (r.fixed(_SECRET, f) for f in ("c_sk", "s_sk", "b", "nonce seed"))
        per = shamir.random_bytes_needed(32, config.t)
        rand_b, rand_sk = r.var("rand_b", per), r.var("rand_sk", per)
        if len(rand_b) != per or len(rand_sk) != per:
            raise MalformedMessageError(f"the exported Shamir buffers must be {per} bytes each.")
        words = r.vector(config.m, np.dtype(config.dtype), "input")
        c_pk, s_pk = r.fixed(KEY_LEN, "c_pk"), r.fixed(KEY_LEN, "s_pk")
        secrets = Secrets(c_sk, s_sk, bytearray(b), rand_b, rand_sk, seed)
        state = R1ShareKeys(session, secrets, words, c_pk, s_pk)
    elif tag is State.R2_MASKED_INPUT_COLLECTION:
        s_sk, b = r.fixed(_SECRET, "s_sk"), r.fixed(_SECRET, "b")
        words = r.vector(config.m, np.dtype(config.dtype), "input")
        rows = r.table("channel", (32, KEY_LEN), config.n)
        own = (r.fixed(SHARE_LEN, "own b share"), r.fixed(SHARE_LEN, "own s^SK share"))
        transcript = r.optional(DIGEST_LEN, "transcript")
        channel = {v: row[0] for v, row in rows.items()}
        s_pks = {v: row[1] for v, row in rows.items()}
        state = R2MaskedInputCollection(
            session, s_sk, bytearray(b), words, channel, s_pks, own, transcript
        )
    elif tag in (State.R3_CONSISTENCY_CHECK, State.R4_UNMASKING):
        rows = r.table("held shares", (SHARE_LEN, SHARE_LEN), config.n)
        own = (r.fixed(SHARE_LEN, "own b share"), r.fixed(SHARE_LEN, "own s^SK share"))
        transcript = r.optional(DIGEST_LEN, "transcript")
        shares = {v: (row[0], row[1]) for v, row in rows.items()}
        held = Held(session, shares, own, tuple(sorted(shares)), transcript)
        if tag is State.R3_CONSISTENCY_CHECK:
            state = R3ConsistencyCheck(held)
        else:
            signed = r.ids("signed list", config.n) if r.flag("signed") else None
            state = R4Unmasking(held, signed)
    else:
        raise MalformedMessageError(f"no client state is exported with tag {tag.value}.")
    r.end()
    return state


def _session(w: StateWriter, session: Session) -> None:
    w.fixed(session.config.canonical())
    w.fixed(session.nonce)


def _read_session(r: StateReader, session_id: bytes, client_id: int) -> Session:
    config = Config.from_canonical(r.fixed(CANONICAL_SIZE, "config"))
    nonce = r.fixed(NONCE_LEN, "nonce")
    if config.session_id(nonce) != session_id:
        raise MalformedMessageError("the exported config and nonce do not give the session id.")
    if not 1 <= client_id <= config.n:
        raise MalformedMessageError(f"client id {client_id} is outside 1..{config.n}.")
    return Session(client_id, config, nonce, session_id)

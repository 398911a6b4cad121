"""Encoding of the server's round state for export (PROTOCOL.md §13).

Written in a fixed order: the session (canonical config, nonce, authority
signature), the ledger (drops and why, discarded counts, reports, U1..U3),
who was asked and who answered this round, the requests last sent (so that a
restarted server sends exactly those again: U3 and every R4 request are
durable before any R4 message leaves), and the round's own data.
"""

from __future__ import annotations

import numpy as np

from ...exceptions import MalformedMessageError
from ..config import CANONICAL_SIZE, Config
from ..messages import KeyAdvert
from ..server_rounds import (
    CollectAdverts,
    CollectMaskedInputs,
    CollectShares,
    CollectSignatures,
    CollectUnmasking,
    Ledger,
    ServerSession,
    ServerState,
)
from ..vocabulary import (
    COMMIT_LEN,
    KEY_LEN,
    MAX_N,
    NONCE_LEN,
    SHARE_LEN,
    SIG_LEN,
    AbortCode,
    Mode,
    State,
)
from .fields import StateReader, StateWriter

__all__ = ["ServerSnapshot", "decode_server_state", "encode_server_state"]

_NO_SENDER = 0xFFFFFFFF  # the discarded count of senders outside 1..n


class ServerSnapshot:
    """A decoded server state with what the facade keeps beside it."""

    def __init__(self, state: ServerState, started: bool, outbox: dict[int, bytes]) -> None:
        self.state = state
        self.started = started
        self.outbox = outbox


def encode_server_state(state: ServerState, started: bool, outbox: dict[int, bytes]) -> bytes:
    """The plaintext of an exported server state (any round being collected)."""
    w = StateWriter()
    session = state.session
    w.fixed(session.config.canonical())
    w.fixed(session.nonce)
    w.optional(session.config_signature)
    w.uint(1, int(started), "started")
    _ledger(w, state.ledger)
    w.ids(state.asked)
    w.ids(state.answered)
    _outbox(w, outbox)
    if isinstance(state, CollectAdverts):
        _adverts(w, state.adverts)
    elif isinstance(state, CollectShares):
        _adverts(w, state.adverts)
        w.table({u: (c,) for u, c in state.commitments.items()})
        w.uint(4, len(state.ciphertexts), "ciphertext senders")
        for u in sorted(state.ciphertexts):
            receivers, blob = state.ciphertexts[u]
            w.uint(4, u, "sender")
            w.ids(receivers)
            w.var(blob)
    elif isinstance(state, (CollectMaskedInputs, CollectSignatures, CollectUnmasking)):
        _adverts(w, state.adverts)
        w.table({u: (c,) for u, c in state.commitments.items()})
        w.vector(state.acc)
        if isinstance(state, CollectSignatures):
            w.table({u: (sig,) for u, sig in state.signatures.items()})
        if isinstance(state, CollectUnmasking):
            w.uint(4, len(state.shares), "share owners")
            for owner, kind in sorted(state.shares):
                w.uint(4, owner, "owner")
                w.uint(1, kind, "kind")
                w.table({h: (share,) for h, share in state.shares[(owner, kind)].items()})
    else:
        raise MalformedMessageError(f"a server in state {state.STATE.value} is not exported.")
    return w.getvalue()


def decode_server_state(
    tag: State, data: bytes, session_id: bytes, verify_keys: dict[int, bytes] | None
) -> ServerSnapshot:
    """The server state an exported plaintext describes.

    Raises:
        MalformedMessageError: Any field is malformed, or the config and nonce
            do not give the envelope's session id.
    """
    r = StateReader(data)
    config = Config.from_canonical(r.fixed(CANONICAL_SIZE, "config"))
    nonce = r.fixed(NONCE_LEN, "nonce")
    if config.session_id(nonce) != session_id:
        raise MalformedMessageError("the exported config and nonce do not give the session id.")
    signature = r.optional(SIG_LEN, "config signature")
    if (signature is not None) != (config.mode is Mode.ACTIVE):
        raise MalformedMessageError("a config signature is exported exactly in active mode.")
    session = ServerSession(config, nonce, session_id, signature, verify_keys)
    started = r.flag("started")
    ledger = _read_ledger(r, config.n)
    asked = set(r.ids("asked", config.n))
    answered = set(r.ids("answered", config.n))
    outbox = _read_outbox(r, config.n)
    state: ServerState
    if tag is State.R0_ADVERTISE_KEYS:
        state = CollectAdverts(session, ledger, asked)
        state.adverts = _read_adverts(r, config.n, session_id)
    elif tag is State.R1_SHARE_KEYS:
        state = CollectShares(session, ledger, asked, _read_adverts(r, config.n, session_id))
        state.commitments = _read_column(r, "commitments", COMMIT_LEN, config.n)
        prev = 0
        for _ in range(r.uint(4, "ciphertext senders")):
            u = r.uint(4, "ciphertext sender")
            if not prev < u <= config.n:
                raise MalformedMessageError("exported ciphertext senders must increase in 1..n.")
            prev = u
            receivers = r.ids("receivers", config.n)
            state.ciphertexts[u] = (receivers, r.var("ciphertexts", MAX_N * 256))
    elif tag in (
        State.R2_MASKED_INPUT_COLLECTION,
        State.R3_CONSISTENCY_CHECK,
        State.R4_UNMASKING,
    ):
        adverts = _read_adverts(r, config.n, session_id)
        commitments = _read_column(r, "commitments", COMMIT_LEN, config.n)
        acc = r.vector(config.m, np.dtype(config.dtype), "sum")
        cls = {
            State.R2_MASKED_INPUT_COLLECTION: CollectMaskedInputs,
            State.R3_CONSISTENCY_CHECK: CollectSignatures,
            State.R4_UNMASKING: CollectUnmasking,
        }[tag]
        state = cls(session, ledger, asked, (adverts, commitments, acc))
        if isinstance(state, CollectSignatures):
            state.signatures = _read_column(r, "signatures", SIG_LEN, config.n)
        if isinstance(state, CollectUnmasking):
            for _ in range(r.uint(4, "share owners")):
                owner, kind = r.uint(4, "owner"), r.uint(1, "kind")
                state.shares[(owner, kind)] = _read_column(r, "shares", SHARE_LEN, config.n)
    else:
        raise MalformedMessageError(f"no server state is exported with tag {tag.value}.")
    state.answered = answered
    r.end()
    return ServerSnapshot(state, started, outbox)


# ----------------------------------------------------------------- helpers


def _ledger(w: StateWriter, ledger: Ledger) -> None:
    w.table({u: (rnd.encode("ascii"),) for u, rnd in ledger.dropped.items()})
    w.uint(4, len(ledger.drop_reasons), "drop reasons")
    for u in sorted(ledger.drop_reasons):
        w.uint(4, u, "dropped id")
        w.text(ledger.drop_reasons[u])
    w.uint(4, len(ledger.discarded), "discarded")
    for (rnd, sender, reason), count in sorted(ledger.discarded.items()):
        w.text(rnd)
        w.uint(4, _NO_SENDER if sender < 0 else sender, "discarded sender")
        w.text(reason)
        w.uint(8, count, "discarded count")
    w.uint(4, len(ledger.reports), "reports")
    for u in sorted(ledger.reports):
        code, peer = ledger.reports[u]
        w.uint(4, u, "reporter")
        w.text(code.value)
        w.uint(4, peer or 0, "peer")
    for ids in (ledger.u1, ledger.u2, ledger.u3):
        w.ids(ids)


def _read_ledger(r: StateReader, n: int) -> Ledger:
    ledger = Ledger()
    for u, (raw,) in r.table("dropped", (2,), n).items():
        ledger.dropped[u] = raw.decode("ascii", "replace")
    for _ in range(r.uint(4, "drop reasons")):
        u = r.uint(4, "dropped id")
        ledger.drop_reasons[u] = r.text("drop reason")
    for _ in range(r.uint(4, "discarded")):
        where, sender, reason = r.text("round"), r.uint(4, "sender"), r.text("reason")
        key = (where, -1 if sender == _NO_SENDER else sender, reason)
        ledger.discarded[key] = r.uint(8, "n")
    for _ in range(r.uint(4, "reports")):
        u, code, peer = r.uint(4, "reporter"), r.text("rule"), r.uint(4, "peer")
        try:
            ledger.reports[u] = (AbortCode(code), peer or None)
        except ValueError:
            raise MalformedMessageError(f"the exported report rule {code!r} is unknown.") from None
    ledger.u1, ledger.u2, ledger.u3 = (r.ids(f, n) for f in ("U1", "U2", "U3"))
    return ledger


def _outbox(w: StateWriter, outbox: dict[int, bytes]) -> None:
    distinct: dict[bytes, int] = {}
    for data in outbox.values():
        distinct.setdefault(data, len(distinct))
    w.uint(4, len(distinct), "outgoing messages")
    for data in distinct:
        w.var(data)
    w.table({u: (distinct[data].to_bytes(4, "big"),) for u, data in outbox.items()})


def _read_outbox(r: StateReader, n: int) -> dict[int, bytes]:
    count = r.uint(4, "outgoing messages")
    if count > n:
        raise MalformedMessageError(f"the exported outbox holds {count} messages, n = {n}.")
    messages = [r.var("outgoing message", 1 << 36) for _ in range(count)]
    out = {}
    for u, (index,) in r.table("outbox", (4,), n).items():
        i = int.from_bytes(index, "big")
        if i >= count:
            raise MalformedMessageError(f"the exported outbox names message {i} of {count}.")
        out[u] = messages[i]
    return out


def _adverts(w: StateWriter, adverts: dict[int, KeyAdvert]) -> None:
    w.uint(4, len(adverts), "adverts")
    for u in sorted(adverts):
        a = adverts[u]
        w.uint(4, u, "advert id")
        w.fixed(a.c_pk)
        w.fixed(a.s_pk)
        w.optional(a.signature)


def _read_adverts(r: StateReader, n: int, sid: bytes) -> dict[int, KeyAdvert]:
    out = {}
    prev = 0
    for _ in range(r.uint(4, "adverts")):
        u = r.uint(4, "advert id")
        if not prev < u <= n:
            raise MalformedMessageError("exported advert ids must increase in 1..n.")
        prev = u
        c_pk, s_pk = r.fixed(KEY_LEN, "c_pk"), r.fixed(KEY_LEN, "s_pk")
        out[u] = KeyAdvert(sid, u, c_pk, s_pk, r.optional(SIG_LEN, "advert signature"))
    return out


def _read_column(r: StateReader, field: str, width: int, n: int) -> dict[int, bytes]:
    return {u: row[0] for u, row in r.table(field, (width,), n).items()}

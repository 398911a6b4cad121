"""Client R1 (ShareKeys): the forwarded adverts."""

from __future__ import annotations

import dataclasses

from session_harness import (
    SEMI,
    SPARSE,
    Session,
    active_setup,
    only_for,
    rewrite,
)

from secagg import crypto
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.server import State


def _assert_refused(client: Client, reply_list: list[bytes], match: str) -> None:
    assert client.state is State.ABORTED, client
    assert client.abort_reason is not None and match in client.abort_reason, client.abort_reason
    for r in reply_list:  # an abort reveals nothing: only an abort notice goes out
        assert isinstance(M.decode(r), M.AbortNotice)


def test_refuses_adverts_from_non_neighbours():
    """Semi_honest: adverts of clients outside N(u) make the client abort."""
    s = Session(SPARSE)
    u = 1
    nbrs = s.server.neighbours(u)
    stranger = next(v for v in range(2, 11) if v not in nbrs)

    def add(d: bytes) -> bytes:
        msg = M.decode(d)
        extra = M.Advert(stranger, crypto.x25519_keypair()[1], crypto.x25519_keypair()[1])
        return dataclasses.replace(
            msg, adverts=tuple(sorted((*msg.adverts, extra), key=lambda a: a.id))
        ).to_bytes()

    s.run(to_client=only_for("R1", u, add))
    _assert_refused(s.clients[u], s.sent[("R1", u)], "not neighbours")


def test_refuses_too_few_holders_in_r1():
    """Fewer than t of H(u) advertised keys: the client aborts before sharing anything."""
    s = Session(SEMI)
    s.run(to_client=only_for("R1", 1, lambda d: rewrite(d, adverts=M.decode(d).adverts[:1])))
    _assert_refused(s.clients[1], s.sent[("R1", 1)], "fewer than t = 3")


def test_refuses_small_order_advert_key():
    """A forwarded all-zero (small-order) key makes the client abort."""
    s = Session(SEMI)

    def poison(d: bytes) -> bytes:
        msg = M.decode(d)
        a = msg.adverts[0]
        return dataclasses.replace(
            msg, adverts=(a._replace(s_pk=bytes(32)), *msg.adverts[1:])
        ).to_bytes()

    s.run(to_client=only_for("R1", 1, poison))
    _assert_refused(s.clients[1], s.sent[("R1", 1)], "small-order")


def test_refuses_repeated_advert_key():
    """Two forwarded adverts with the same key make the client abort."""
    s = Session(SEMI)

    def dup(d: bytes) -> bytes:
        msg = M.decode(d)
        a, b = msg.adverts[0], msg.adverts[1]
        return dataclasses.replace(
            msg, adverts=(a, b._replace(c_pk=a.c_pk), *msg.adverts[2:])
        ).to_bytes()

    s.run(to_client=only_for("R1", 1, dup))
    _assert_refused(s.clients[1], s.sent[("R1", 1)], "repeats a key")


def test_active_refuses_bad_advert_signature():
    """A forwarded advert with a wrong signature makes the client abort."""
    a = active_setup()
    s = Session(a.config, active=a)

    def bad(d: bytes) -> bytes:
        msg = M.decode(d)
        x = msg.adverts[1]
        return dataclasses.replace(
            msg, adverts=(msg.adverts[0], x._replace(signature=b"\x00" * 64), *msg.adverts[2:])
        ).to_bytes()

    s.run(to_client=only_for("R1", 1, bad))
    _assert_refused(s.clients[1], s.sent[("R1", 1)], "invalid signature")

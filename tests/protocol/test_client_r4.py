"""Client R4 (Unmasking): the survivor list and the shares released."""

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

from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.server import State


def _assert_refused(client: Client, reply_list: list[bytes], match: str) -> None:
    assert client.state is State.ABORTED, client
    assert client.abort_reason is not None and match in client.abort_reason, client.abort_reason
    for r in reply_list:  # an abort reveals nothing: only an abort notice goes out
        assert isinstance(M.decode(r), M.AbortNotice)


def test_refuses_when_absent_from_survivor_list():
    """A client not listed in U3 of its R4 request aborts and sends no share."""
    s = Session(SEMI)
    s.run(to_client=only_for("R4", 1, lambda d: rewrite(d, survivors=(2, 3, 4, 5))))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "absent from the survivor list")


def test_refuses_survivor_outside_masking_set():
    """U3 naming a neighbour outside M_u (U3 ∩ N(u) ⊄ M_u) makes the client abort."""
    s = Session(SEMI)
    s.run(
        stop={5: "R1"}, to_client=only_for("R4", 1, lambda d: rewrite(d, survivors=(1, 2, 3, 4, 5)))
    )
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "not in this client's masking set")


def test_refuses_too_few_holders_in_r4():
    """An R4 list leaving fewer than t of H(u) makes the client abort."""
    s = Session(SPARSE)
    nbrs = s.server.neighbours(1)
    others = tuple(v for v in range(2, 11) if v not in nbrs)[:3]
    s.run(to_client=only_for("R4", 1, lambda d: rewrite(d, survivors=(1, *others))))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "fewer than t = 3")


def test_refuses_fewer_than_n_min_survivors():
    """An R4 list with fewer than n_min clients makes the client abort."""
    config = Config(n=6, t=3, k=5, b=16, m=6, n_min=5)
    s = Session(config)
    s.run(to_client=only_for("R4", 1, lambda d: rewrite(d, survivors=(1, 2, 3, 4))))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "fewer than n_min = 5")


def test_second_r4_request_gets_no_answer():
    """After answering R4 once, a client answers no further request, whatever its list."""
    s = Session(SEMI)
    captured = {}

    def keep(d: bytes) -> bytes:
        captured["r4"] = d
        return d

    s.run(to_client=only_for("R4", 2, keep))
    client = s.clients[2]
    assert client.state is State.COMPLETED
    assert client.handle(captured["r4"]) == []
    assert client.handle(rewrite(captured["r4"], survivors=(2, 3, 4))) == []
    assert client.ignored == 2


def test_never_both_share_kinds_for_one_client():
    """R4 answers carry b-shares for U3 and s^SK-shares only for dropped clients, never both."""
    s = Session(SEMI)
    s.run(stop={4: "R2"})
    assert s.server.state is State.COMPLETED
    for (rnd, _u), replies in s.sent.items():
        if rnd != "R4":
            continue
        msg = M.decode(replies[0])
        kinds = {e.id: e.kind for e in msg.shares}
        assert len(kinds) == len(msg.shares)
        assert kinds[4] == M.ShareKind.SECRET_KEY
        assert all(k == M.ShareKind.SELF_MASK for v, k in kinds.items() if v != 4)


def test_active_refuses_r4_list_differing_from_signed():
    """The R4 survivor list must be the one the client signed."""
    a = active_setup(n=7, t=5)
    s = Session(a.config, active=a)
    s.run(to_client=only_for("R4", 1, lambda d: rewrite(d, survivors=(1, 2, 3, 4, 5, 6))))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "is not the one this client signed")


def test_active_refuses_without_t_valid_signatures():
    """Fewer than t valid survivor-list signatures: the client reveals no share."""
    a = active_setup()
    s = Session(a.config, active=a)

    def fewer(d: bytes) -> bytes:
        msg = M.decode(d)
        return dataclasses.replace(msg, signatures=msg.signatures[:4]).to_bytes()

    s.run(to_client=only_for("R4", 1, fewer))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "fewer than t = 5")


def test_active_refuses_invalid_survivor_signature():
    """A signature on the survivor list that fails to verify makes the client abort."""
    a = active_setup()
    s = Session(a.config, active=a)

    def bad(d: bytes) -> bytes:
        msg = M.decode(d)
        sig = msg.signatures[2]
        return dataclasses.replace(
            msg,
            signatures=(
                *msg.signatures[:2],
                sig._replace(signature=bytes(64)),
                *msg.signatures[3:],
            ),
        ).to_bytes()

    s.run(to_client=only_for("R4", 1, bad))
    _assert_refused(s.clients[1], s.sent[("R4", 1)], "does not verify")

"""Client R3 (ConsistencyCheck, active mode): signing one survivor list."""

from __future__ import annotations

from session_harness import (
    Session,
    active_setup,
    only_for,
    rewrite,
)

from secagg.protocol import messages as M
from secagg.protocol.server import State


def test_active_signs_one_list_only():
    """A second R3 request (any list) makes the client abort instead of signing again."""
    a = active_setup()
    s = Session(a.config, active=a)
    s.run(to_client=only_for("R3", 1, lambda d: [d, rewrite(d, survivors=(1, 2, 3, 4, 5))]))
    client = s.clients[1]
    assert client.state is State.ABORTED
    sigs = [r for r in s.sent[("R3", 1)] if isinstance(M.decode(r), M.SurvivorSignature)]
    assert len(sigs) == 1

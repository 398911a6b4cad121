"""Server R0: the adverts it drops."""

from __future__ import annotations

import pytest
from session_harness import (
    SEMI,
    Session,
    rewrite,
)

from secagg.protocol import messages as M
from secagg.protocol.server import State


@pytest.mark.parametrize("kind", ["same_keys", "equal_pair", "small_order"])
def test_server_drops_bad_adverts(kind):
    """R0: duplicate keys, c_pk = s_pk or a small-order key drop the advertiser(s)."""
    s = Session(SEMI)
    first: dict[str, bytes] = {}

    def hook(r: str, u: int, d: bytes) -> bytes:
        if r != "R0":
            return d
        msg = M.decode(d)
        if u == 1:
            first["c"], first["s"] = msg.c_pk, msg.s_pk
        if u == 2 and kind == "same_keys":
            return rewrite(d, c_pk=first["c"])
        if u == 2 and kind == "equal_pair":
            return rewrite(d, c_pk=msg.s_pk)
        if u == 2 and kind == "small_order":
            return rewrite(d, s_pk=(1).to_bytes(32, "little"))
        return d

    server = s.run(to_server=hook)
    want = {1: "R0", 2: "R0"} if kind == "same_keys" else {2: "R0"}
    assert server.dropped == want
    assert server.state is State.COMPLETED

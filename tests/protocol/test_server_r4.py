"""Server R4: share kinds and robust reconstruction (§9)."""

from __future__ import annotations

import dataclasses

import numpy as np
from session_harness import (
    SEMI,
    Session,
    only_for,
)

from secagg import shamir
from secagg.protocol import messages as M
from secagg.protocol.config import Config
from secagg.protocol.server import State

P = shamir.P


def test_server_drops_share_of_wrong_kind():
    """An R4 answer with an s^SK share for a survivor drops the answer."""
    s = Session(SEMI)

    def wrong(d: bytes) -> bytes:
        msg = M.decode(d)
        e = msg.shares[0]
        return dataclasses.replace(
            msg, shares=(e._replace(kind=M.ShareKind.SECRET_KEY), *msg.shares[1:])
        ).to_bytes()

    server = s.run(to_server=only_for("R4", 2, wrong))
    assert server.dropped == {2: "R4"} and "kind" in server.drop_reasons[2]
    np.testing.assert_array_equal(server.result.sum, s.expected())


ROBUST = Config(
    n=7, t=4, n_min=4, k=6, b=32, m=8
)  # h = 7: corrects floor((7 - 4)/2) = 1 wrong share


def corrupt_share(owner: int):
    def fn(d: bytes) -> bytes:
        msg = M.decode(d)
        out = []
        for e in msg.shares:
            if e.id == owner:
                v = (int.from_bytes(e.share[:8], "little") + 1) % P
                e = e._replace(share=v.to_bytes(8, "little") + e.share[8:])
            out.append(e)
        return dataclasses.replace(msg, shares=tuple(out)).to_bytes()

    return fn


def test_one_wrong_share_is_corrected_and_named():
    """One wrong b-share (within the RS bound) still gives the exact sum and names its holder."""
    s = Session(ROBUST)
    server = s.run(to_server=only_for("R4", 2, corrupt_share(1)))
    assert server.state is State.COMPLETED
    np.testing.assert_array_equal(server.result.sum, s.expected())
    assert server.result.bad_holders == (2,)
    assert server.result.corrected == {1: (2,)}


def test_wrong_sk_share_of_dropped_client_is_corrected():
    """A wrong s^SK share for a dropped client is corrected and its holder named."""
    s = Session(ROBUST)
    server = s.run(stop={5: "R2"}, to_server=only_for("R4", 1, corrupt_share(5)))
    assert server.state is State.COMPLETED
    np.testing.assert_array_equal(server.result.sum, s.expected())
    assert server.result.bad_holders == (1,)
    assert server.result.reconstructed["pairwise"] == (5,)


def test_too_many_wrong_shares_abort_naming_the_owner():
    """Wrong shares beyond the RS bound abort naming the client, never a wrong sum."""
    s = Session(ROBUST)
    hooks = {("R4", u) for u in (1, 2, 3)}
    server = s.run(to_server=lambda r, u, d: corrupt_share(4)(d) if (r, u) in hooks else d)
    assert server.state is State.ABORTED and server.result is None
    assert server.abort_reason.startswith("client 4:")

"""Client R2 (MaskedInputCollection): the forwarded share ciphertexts."""

from __future__ import annotations

import dataclasses

from session_harness import (
    SEMI,
    SPARSE,
    Session,
    only_for,
    rewrite,
)

from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.server import State


def _assert_refused(client: Client, reply_list: list[bytes], match: str) -> None:
    assert client.state is State.ABORTED, client
    assert client.abort_reason is not None and match in client.abort_reason, client.abort_reason
    for r in reply_list:  # an abort reveals nothing: only an abort notice goes out
        assert isinstance(M.decode(r), M.AbortNotice)


def test_refuses_ciphertext_from_outside_u1_neighbourhood():
    """A forwarded ciphertext from a non-neighbour (M_u ⊄ U1 ∩ N(u)) makes the client abort."""
    s = Session(SPARSE)
    u = 1
    nbrs = s.server.neighbours(u)
    stranger = next(v for v in range(2, 11) if v not in nbrs)

    def add_stranger(d: bytes) -> bytes:
        msg = M.decode(d)
        extra = M.CiphertextIn(stranger, bytes(32), bytes(108))
        return dataclasses.replace(
            msg, ciphertexts=tuple(sorted((*msg.ciphertexts, extra), key=lambda c: c.sender))
        ).to_bytes()

    s.run(to_client=only_for("R2", u, add_stranger))
    _assert_refused(s.clients[u], s.sent[("R2", u)], "outside the neighbours")


def test_refuses_too_few_masking_neighbours_in_r2():
    """|M_u| + 1 < t in R2: the client aborts instead of sending a masked input."""
    s = Session(SEMI)
    s.run(
        to_client=only_for("R2", 1, lambda d: rewrite(d, ciphertexts=M.decode(d).ciphertexts[:1]))
    )
    _assert_refused(s.clients[1], s.sent[("R2", 1)], "fewer than t = 3")
    assert 1 not in s.server.u3


def test_refuses_tampered_ciphertext():
    """A share ciphertext failing its GCM tag makes the receiver abort."""
    s = Session(SEMI)

    def flip(d: bytes) -> bytes:
        msg = M.decode(d)
        c = msg.ciphertexts[0]
        ct = bytearray(c.ciphertext)
        ct[20] ^= 1
        return dataclasses.replace(
            msg, ciphertexts=(c._replace(ciphertext=bytes(ct)), *msg.ciphertexts[1:])
        ).to_bytes()

    s.run(to_client=only_for("R2", 1, flip))
    _assert_refused(s.clients[1], s.sent[("R2", 1)], "tag does not verify")

"""Server R2: masked inputs, masking sets and duplicates."""

from __future__ import annotations

import numpy as np
from session_harness import (
    SEMI,
    Session,
    only_for,
    rewrite,
)

from secagg.protocol.server import State


def test_server_drops_wrong_masking_set():
    """A masked input whose M_u differs from N(u) ∩ U2 is not folded."""
    s = Session(SEMI)
    server = s.run(to_server=only_for("R2", 2, lambda d: rewrite(d, mask_bitmap=b"\x07")))
    assert server.dropped.get(2) == "R2" and "masking set" in server.drop_reasons[2]
    assert server.state is State.COMPLETED
    np.testing.assert_array_equal(server.result.sum, s.expected())


def test_server_handles_duplicates():
    """A repeated R1 reply drops its sender; a repeated masked input is discarded, not refolded."""
    s = Session(SEMI)
    server = s.run(to_server=lambda r, u, d: [d, d] if (r, u) in (("R1", 1), ("R2", 2)) else d)
    assert server.dropped == {1: "R1"}
    assert 2 in server.u3
    assert any("second masked input" in x[2] for x in server.discarded)
    np.testing.assert_array_equal(server.result.sum, s.expected())

"""Whole sessions driven by hand, and the integration loop of docs/api.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from session_harness import (
    SEMI,
    Session,
    active_setup,
)

from secagg.protocol.server import State


def test_honest_session_by_hand():
    """Driving Client and Server directly gives the exact sum and COMPLETED everywhere."""
    s = Session(SEMI)
    server = s.run()
    assert server.state is State.COMPLETED and server.result is not None
    np.testing.assert_array_equal(server.result.sum, s.expected())
    assert all(c.state is State.COMPLETED for c in s.clients.values())


def test_active_session_by_hand():
    """Active mode with signatures and the consistency check gives the exact sum."""
    a = active_setup()
    s = Session(a.config, active=a)
    server = s.run()
    assert server.state is State.COMPLETED
    np.testing.assert_array_equal(server.result.sum, s.expected())


def test_api_doc_example_runs():
    """The code block in docs/api.md runs as written and prints the exact sum."""
    doc = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    assert namespace["server"].state is State.COMPLETED
    np.testing.assert_array_equal(namespace["total"], namespace["expected"])

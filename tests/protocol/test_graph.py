"""Tests for secagg.protocol.graph: the pinned permutation, Harary structure, argument checks."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secagg import prg
from secagg.exceptions import InvalidInputError
from secagg.protocol import graph as graph_mod
from secagg.protocol.config import Config
from secagg.protocol.graph import Graph, harary_permutation

DATA = Path(__file__).parents[1] / "data"
VECTOR = json.loads((DATA / "graph_vector.json").read_text())

_spec = importlib.util.spec_from_file_location("make_graph_vector", DATA / "make_graph_vector.py")
assert _spec is not None and _spec.loader is not None
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)


def test_uses_core_keystream() -> None:
    """The permutation is drawn from the compiled core's AES-CTR (secagg.prg), no fallback."""
    assert graph_mod.keystream is prg.keystream


def test_small_vector() -> None:
    """pi for the pinned (session id, n = 20) equals the independent generator's output."""
    v = VECTOR["vectors"][0]
    assert harary_permutation(bytes.fromhex(v["session_id"]), v["n"]) == v["pi"]


def test_large_vector_with_rejection() -> None:
    """pi for n = 5000, where a word is rejected, hashes to the pinned value."""
    v = VECTOR["vectors"][1]
    assert v["rejected_words"] >= 1
    pi = harary_permutation(bytes.fromhex(v["session_id"]), v["n"])
    assert pi[:16] == v["pi_first_16"]
    digest = hashlib.sha256(b"".join(struct.pack(">I", x) for x in pi)).hexdigest()
    assert digest == v["pi_sha256_u32be"]


@settings(max_examples=20)
@given(sid=st.binary(min_size=32, max_size=32), n=st.integers(1, 700))
def test_matches_independent_generator(sid: bytes, n: int) -> None:
    """For random session ids and n, pi equals the generator script's pure-Python shuffle."""
    pi = harary_permutation(sid, n)
    assert pi == generator.permutation(sid, n)[0]
    assert sorted(pi) == list(range(1, n + 1))


def test_keystream_blocks_continue() -> None:
    """Reading past the first keystream block continues the same stream (n > 1024 words)."""
    sid = hashlib.sha256(b"block boundary").digest()
    assert harary_permutation(sid, 2500) == generator.permutation(sid, 2500)[0]


def test_session_id_changes_permutation() -> None:
    """Two session ids give different ring orders (the graph depends on the session)."""
    assert harary_permutation(os.urandom(32), 50) != harary_permutation(os.urandom(32), 50)


@st.composite
def _sparse(draw: st.DrawFn) -> tuple[Config, bytes]:
    n = draw(st.integers(4, 120))
    k = 2 * draw(st.integers(1, (n - 2) // 2))
    cfg = Config(n=n, t=k // 2 + 1, n_min=k // 2 + 1, k=k, b=8, m=1)
    return cfg, draw(st.binary(min_size=32, max_size=32))


@settings(max_examples=40)
@given(case=_sparse())
def test_harary_structure(case: tuple[Config, bytes]) -> None:
    """Sparse graphs: k sorted distinct neighbours, symmetric, at ring distance <= k/2."""
    cfg, sid = case
    g = Graph.build(cfg, sid)
    assert (g.n, g.k, g.complete) == (cfg.n, cfg.k, False)
    assert list(g.order) == harary_permutation(sid, cfg.n)
    for u in range(1, cfg.n + 1):
        nb = g.neighbours(u)
        assert len(nb) == cfg.k and len(set(nb)) == cfg.k
        assert list(nb) == sorted(nb) and u not in nb
        assert g.holders(u) == tuple(sorted((*nb, u)))
        assert g.order[g.ring_position(u)] == u
        for v in nb:
            assert u in g.neighbours(v)
            dist = abs(g.ring_position(u) - g.ring_position(v))
            assert min(dist, cfg.n - dist) <= cfg.k // 2
        others = set(range(1, cfg.n + 1)) - set(nb) - {u}
        assert all(not g.are_neighbours(u, v) for v in others)
        assert all(g.are_neighbours(u, v) for v in nb)


def test_complete_graph() -> None:
    """k = n - 1: everyone neighbours everyone; ring position is u - 1."""
    cfg = Config(n=7, t=4, n_min=4, k=6, b=8, m=1)
    g = Graph.build(cfg, os.urandom(32))
    assert g.complete
    assert g.neighbours(3) == (1, 2, 4, 5, 6, 7)
    assert g.holders(3) == tuple(range(1, 8))
    assert g.ring_position(5) == 4
    assert g.are_neighbours(1, 7) and not g.are_neighbours(2, 2)


def test_active_graph_complete() -> None:
    """An active config always yields the complete graph."""
    cfg = Config(n=5, t=4, n_min=4, k=4, c=1, b=8, m=1, mode="active", registry_digest=b"\x07" * 32)
    g = Graph.build(cfg, os.urandom(32))
    assert g.complete and g.neighbours(1) == (2, 3, 4, 5)


def test_graph_determinism() -> None:
    """The same (config, session id) builds the same graph everywhere."""
    cfg = Config(n=40, t=6, n_min=6, k=10, b=8, m=1)
    sid = os.urandom(32)
    a, b = Graph.build(cfg, sid), Graph.build(cfg, sid)
    assert all(a.neighbours(u) == b.neighbours(u) for u in range(1, 41))


def test_sparse_graph_built_once_per_session() -> None:
    """Parties of one session share one sparse Graph; another session or k gets its own."""
    cfg = Config(n=40, t=6, n_min=6, k=10, b=8, m=1)
    sid = os.urandom(32)
    g = Graph.build(cfg, sid)
    assert Graph.build(cfg, bytearray(sid)) is g
    assert list(g.order) == harary_permutation(sid, cfg.n)
    other = Graph.build(cfg, os.urandom(32))
    assert other is not g and other.order != g.order
    wider = Graph.build(Config(n=40, t=7, n_min=7, k=12, b=8, m=1), sid)
    assert wider is not g and wider.order == g.order and wider.k == 12
    # The cache is bounded: many later sessions evict this one, which is rebuilt equal.
    for _ in range(20):
        Graph.build(cfg, os.urandom(32))
    again = Graph.build(cfg, sid)
    assert again is not g and again.order == g.order


def test_argument_checks() -> None:
    """Bad session ids, ids and n raise InvalidInputError naming the problem."""
    cfg = Config(n=10, t=5, n_min=5, k=8, b=8, m=1)
    sid = os.urandom(32)
    with pytest.raises(InvalidInputError, match="32 bytes, got 31 bytes"):
        harary_permutation(sid[:31], 10)
    with pytest.raises(InvalidInputError, match="32 bytes"):
        Graph.build(cfg, "s" * 32)  # type: ignore[arg-type]
    for n in (0, -1, 2**32, True, 3.0):
        with pytest.raises(InvalidInputError, match="n must be"):
            harary_permutation(sid, n)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="needs a Config"):
        Graph.build({"n": 10}, sid)  # type: ignore[arg-type]
    g = Graph.build(cfg, sid)
    for u in (0, 11, True, "1", 2.0):
        with pytest.raises(InvalidInputError, match="client id"):
            g.neighbours(u)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            g.ring_position(u)  # type: ignore[arg-type]
    assert harary_permutation(sid, 1) == [1]

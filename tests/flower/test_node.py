"""The node's own storage, the settings' checks, and what context.state may hold.

The sealed session lives in ``context.state``; the key that opens it and the
counter that orders it live in the node's NodeStore only, so an old copy of
the state (a rollback) never restores, while the very request that last
advanced the counter may be handled again with the same bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("flwr", reason="the flower extra is not installed")

from flwr.app import Message  # noqa: E402
from flwr.common.serde import context_to_proto  # noqa: E402

from secagg.exceptions import InvalidInputError, ProtocolViolationError  # noqa: E402
from secagg.flower import NodeStore, Settings  # noqa: E402
from secagg.flower import node as node_module  # noqa: E402
from secagg.flower.client_mod import node_policy  # noqa: E402

from .helpers import FIRST_NODE, make_grid, message_app, run_message, stage_of  # noqa: E402

pytestmark = pytest.mark.flower

SID = bytes(range(32))


def test_the_key_is_created_once_private_and_kept(tmp_path: Path):
    """The state key is 32 CSPRNG bytes, mode 0600, and the same on every read."""
    store = NodeStore(tmp_path / "node")
    key = store.key()
    assert len(key) == 32 and store.key() == key
    mode = stat.S_IMODE(os.stat(tmp_path / "node" / "state.key").st_mode)
    assert mode == 0o600
    assert NodeStore(tmp_path / "other").key() != key


def test_a_key_file_of_the_wrong_length_is_refused(tmp_path: Path):
    """A provisioned key that is not 32 bytes raises a clear error, never a short key."""
    (tmp_path / "state.key").write_bytes(b"short")
    with pytest.raises(InvalidInputError, match="must hold 32 bytes, it holds 5"):
        NodeStore(tmp_path).key()


def test_the_journal_orders_a_session(tmp_path: Path):
    """begin, advance from the counter only, and nothing after finish."""
    store = NodeStore(tmp_path)
    store.begin(SID, b"a" * 32)
    assert store.position(SID) == (0, b"a" * 32)
    store.advance(SID, 0, b"b" * 32)
    assert store.position(SID) == (1, b"b" * 32)
    with pytest.raises(ProtocolViolationError, match="moved on"):
        store.advance(SID, 0, b"c" * 32)
    with pytest.raises(ProtocolViolationError, match="already started"):
        store.begin(SID, b"a" * 32)
    store.finish(SID)
    with pytest.raises(ProtocolViolationError, match="not running"):
        store.position(SID)


def test_the_journal_forgets_the_oldest_sessions_first(tmp_path: Path, monkeypatch):
    """Past twice the limit the log is rewritten with the newest JOURNAL_LIMIT sessions."""
    monkeypatch.setattr(node_module, "JOURNAL_LIMIT", 8)
    store = NodeStore(tmp_path)
    for i in range(17):
        store.begin(i.to_bytes(32, "big"), bytes(32))
    with pytest.raises(ProtocolViolationError):
        store.position((0).to_bytes(32, "big"))
    assert store.position((16).to_bytes(32, "big"))[0] == 0
    assert store.position((9).to_bytes(32, "big"))[0] == 0
    assert len((tmp_path / "journal").read_bytes().splitlines()) <= 9


def test_a_torn_last_line_is_ignored(tmp_path: Path):
    """A line cut short by a killed process does not change the counter."""
    store = NodeStore(tmp_path)
    store.begin(SID, b"a" * 32)
    with open(tmp_path / "journal", "ab") as handle:
        handle.write(SID.hex().encode() + b" 7 ab")
    assert store.position(SID) == (0, b"a" * 32)
    store.advance(SID, 0, b"b" * 32)
    assert store.position(SID) == (1, b"b" * 32)


def test_the_store_directory_comes_from_the_node_config(tmp_path: Path, monkeypatch):
    """secagg-dir, else SECAGG_FLOWER_DIR, else $FLWR_HOME/secagg/node-<id>."""
    monkeypatch.setenv("FLWR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SECAGG_FLOWER_DIR", raising=False)
    assert NodeStore.for_node({}, 42).directory == tmp_path / "home" / "secagg" / "node-42"
    monkeypatch.setenv("SECAGG_FLOWER_DIR", str(tmp_path / "env"))
    assert NodeStore.for_node({}, 42).directory == tmp_path / "env"
    assert NodeStore.for_node({"secagg-dir": str(tmp_path / "c")}, 42).directory == tmp_path / "c"
    with pytest.raises(InvalidInputError, match="secagg-dir"):
        NodeStore.for_node({"secagg-dir": 3}, 42)


def test_context_state_never_holds_the_key_or_the_counter(tmp_path: Path):
    """After every stage, a node's serialised Context contains neither its key nor a counter."""
    grid = make_grid(message_app(), 3, tmp_path)
    snapshots: list[bytes] = []

    def snapshot(nid: int, reply: Message) -> Message:
        snapshots.append(context_to_proto(grid.context(nid)).SerializeToString())
        return reply

    grid.after_reply = snapshot
    run = run_message(grid, 1, Settings(k=2, t=2, n_min=2))
    assert run.outcomes[0].completed
    keys = [NodeStore(tmp_path / f"node-{p}").key() for p in range(3)]
    for data in snapshots:
        assert not any(key in data for key in keys)
        assert b"seq" not in data and b"counter" not in data


def test_a_rolled_back_state_is_refused(tmp_path: Path):
    """A node given its R1-time context.state again at R2 refuses: the counter moved on."""
    grid = make_grid(message_app(), 3, tmp_path)
    victim = FIRST_NODE
    saved: dict[str, bytes] = {}

    def roll_back(nid: int, message: Message) -> None:
        stage = stage_of(message)
        if nid != victim:
            return
        if stage == "R2":  # what the node held before R1 was handled
            grid._nodes._contexts[nid] = saved["before R1"]
        if stage == "R1":
            saved["before R1"] = grid._nodes._contexts[nid]

    grid.before_delivery = roll_back
    run = run_message(grid, 1, Settings(k=2, t=2, n_min=2))
    outcome = run.outcomes[0]
    assert outcome.completed
    assert victim not in outcome.survivors
    assert "refused" in outcome.dropped[victim]


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"dropout": 1.0}, "dropout must be a number in"),
        ({"corrupt": -0.1}, "corrupt must be a number in"),
        ({"k": 1}, "k must be None or an integer >= 2"),
        ({"t": 1}, "t must be None or an integer >= 2"),
        ({"mode": "active"}, "semi_honest sessions only"),
        ({"clip": 0.0}, "clip must be a finite number > 0"),
        ({"quantization_bits": 0}, "quantization_bits must be an integer"),
        ({"max_weight": float("inf")}, "max_weight must be a finite number"),
        ({"timeout": -1}, "timeout must be None or a number > 0"),
    ],
)
def test_settings_refuse_bad_knobs_with_a_sentence(knobs, message):
    """Each knob out of range raises InvalidInputError naming it."""
    with pytest.raises(InvalidInputError, match=message):
        Settings(**knobs)


def test_settings_name_what_the_planner_refuses():
    """A round the knobs cannot serve (n_min above n) is refused with the Config's sentence."""
    import numpy as np

    from secagg.encoding import Layout

    with pytest.raises(InvalidInputError, match="n_min"):
        Settings(n_min=9).session(5, Layout.of([np.zeros(3)]))


def test_node_policy_reads_the_node_config():
    """The operator's minimums come from secagg-* node config entries, type-checked."""
    policy = node_policy({"secagg-min-n": 5, "secagg-gamma-max": 0.1})
    assert policy.min_n == 5 and policy.gamma_max == 0.1 and policy.registry_digest is None
    with pytest.raises(Exception, match="secagg-min-n must be a int"):
        node_policy({"secagg-min-n": "5"})


def test_a_node_refuses_a_cohort_below_its_minimum(tmp_path: Path):
    """A node whose operator asks for at least 4 nodes refuses a round of 3 before training."""
    grid = make_grid(message_app(), 3, tmp_path, {0: {"secagg-min-n": 4}})
    run = run_message(grid, 1, Settings(k=2, t=2, n_min=2))
    outcome = run.outcomes[0]
    assert outcome.completed and FIRST_NODE not in outcome.survivors


def test_a_rerun_after_the_app_raised_gives_the_same_bytes(tmp_path: Path):
    """The app raises after the mod answered R1 (Flower keeps the old state, the journal
    moved on); the same request again restores the old state and gives the same bytes."""
    from flwr.app import Context

    from secagg.flower import secagg_train_mod

    first_answers: dict[int, bytes] = {}

    def flaky(msg: Message, context: Context, call_next) -> Message:  # noqa: ANN001
        reply = call_next(msg, context)
        if stage_of(msg) == "R1" and context.node_id not in first_answers:
            first_answers[context.node_id] = reply.content.config_records["secagg"]["msg.0"]
            raise RuntimeError("the app fails after the mod answered")
        return reply

    grid = make_grid(message_app(mods=[flaky, secagg_train_mod]), 3, tmp_path)
    grid.deliver_twice = True
    later: dict[int, bytes] = {}

    def keep(nid: int, reply: Message) -> Message:
        if not reply.has_error() and stage_of(reply) == "R1":
            later.setdefault(nid, reply.content.config_records["secagg"]["msg.0"])
        return reply

    grid.after_reply = keep
    run = run_message(grid, 1, Settings(k=2, t=2, n_min=3))
    assert run.outcomes[0].completed and len(run.outcomes[0].survivors) == 3
    assert first_answers and first_answers == later

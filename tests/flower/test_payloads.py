"""Malformed and hostile payloads, in both directions, and what a reply may carry.

A node whose reply is malformed (or an error, or a plain model update) is
dropped from the round and the others' aggregate is still exact. A node
refuses requests it cannot trust (a train message outside a session, a
stage without a session, a mismatched app) with an error reply that holds no
model, no count and no metric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("flwr", reason="the flower extra is not installed")

from flwr.app import (  # noqa: E402
    Array,
    ArrayRecord,
    ConfigRecord,
    Error,
    Message,
    MetricRecord,
    RecordDict,
)
from flwr.app.message_type import MessageType  # noqa: E402

from secagg.flower import Settings  # noqa: E402
from secagg.flower.records import ARRAYS_KEY, CONFIG_KEY  # noqa: E402

from .helpers import (  # noqa: E402
    FIRST_NODE,
    assert_aggregate,
    legacy_app,
    make_grid,
    message_app,
    run_legacy,
    run_message,
)

pytestmark = pytest.mark.flower

SETTINGS = Settings()
VICTIM = FIRST_NODE + 4


def _set(name: str, value):
    def mutate(reply: Message) -> Message:
        reply.content.config_records[CONFIG_KEY][name] = value
        return reply

    return mutate


def _truncate(reply: Message) -> Message:
    record = reply.content.config_records[CONFIG_KEY]
    if "msg.0" in record:
        record["msg.0"] = record["msg.0"][:-3]
    else:
        arrays = reply.content.array_records[ARRAYS_KEY]
        data = arrays["msg.0"].numpy()
        arrays["msg.0"] = Array(data[:-3].copy())
    return reply


def _float_array(reply: Message) -> Message:
    arrays = reply.content.array_records[ARRAYS_KEY]
    arrays["msg.0"] = Array(arrays["msg.0"].numpy().astype(np.float32))
    return reply


def _renumber(reply: Message) -> Message:
    record = reply.content.config_records[CONFIG_KEY]
    record["msg.1"] = record.pop("msg.0")
    return reply


def _error(reply: Message) -> Message:
    return Message(metadata=reply.metadata, error=Error(code=0, reason="boom"))


def _plain_update(reply: Message) -> Message:
    content = RecordDict(
        {"arrays": ArrayRecord([np.ones(3)]), "metrics": MetricRecord({"num-examples": 5})}
    )
    return Message(metadata=reply.metadata, content=content)


CASES = {
    "wrong stage marker": ("R1", _set("stage", "R4")),
    "message as a string": ("R1", _set("msg.0", "not bytes")),
    "unexpected entry": ("R0", _set("loss", 0.5)),
    "truncated protocol message": ("R0", _truncate),
    "truncated masked vector": ("R2", _truncate),
    "masked vector as float32": ("R2", _float_array),
    "gap in message numbering": ("R4", _renumber),
    "error reply": ("R1", _error),
    "plain model update": ("R2", _plain_update),
}


def _stage_of_reply(reply: Message) -> str | None:
    if reply.has_error() or CONFIG_KEY not in reply.content.config_records:
        return None
    return str(reply.content.config_records[CONFIG_KEY]["stage"])


@pytest.mark.parametrize("flavour", ["legacy", "message"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_reply_drops_only_its_sender(flavour, case, tmp_path: Path):
    """The sender of a malformed reply is dropped at that stage; the rest aggregate exactly."""
    stage, mutate = CASES[case]
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, 10, tmp_path)
    grid.after_reply = lambda nid, reply: (
        mutate(reply) if nid == VICTIM and _stage_of_reply(reply) == stage else reply
    )
    run = (
        run_legacy(grid, 10, 1, SETTINGS) if flavour == "legacy" else run_message(grid, 1, SETTINGS)
    )
    outcome = run.outcomes[0]
    assert outcome.completed, outcome.reason
    if stage == "R4":  # its masked vector is in; only its shares are missing
        assert VICTIM in outcome.survivors
    else:
        assert VICTIM not in outcome.survivors
        assert outcome.dropped[VICTIM].startswith(stage)
    assert_aggregate(run, 1, SETTINGS)


def _replies_carry_protocol_only(reply: Message) -> None:
    assert not reply.has_error()
    content = reply.content
    assert set(content.config_records) == {CONFIG_KEY}
    assert set(content.array_records) <= {ARRAYS_KEY}
    assert not content.metric_records


@pytest.mark.parametrize("flavour", ["legacy", "message"])
def test_replies_hold_protocol_messages_only(flavour, tmp_path: Path):
    """No reply carries parameters, num_examples or metrics: only the secagg records."""
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, 4, tmp_path)
    seen: list[str] = []

    def check(nid: int, reply: Message) -> Message:
        _replies_carry_protocol_only(reply)
        seen.append(str(reply.content.config_records[CONFIG_KEY]["stage"]))
        return reply

    grid.after_reply = check
    settings = Settings(k=2, t=2, n_min=3)
    run = (
        run_legacy(grid, 4, 1, settings) if flavour == "legacy" else run_message(grid, 1, settings)
    )
    assert run.outcomes[0].completed
    assert sorted(set(seen)) == ["R0", "R1", "R2", "R4"]


def _send(grid, nid: int, content: RecordDict) -> Message:
    replies = list(
        grid.send_and_receive([Message(content, dst_node_id=nid, message_type=MessageType.TRAIN)])
    )
    assert len(replies) == 1
    return replies[0]


def _train_content() -> RecordDict:
    return RecordDict(
        {"arrays": ArrayRecord([np.zeros(3)]), "config": ConfigRecord({"server-round": 1})}
    )


def test_a_node_refuses_to_train_outside_a_session(tmp_path: Path):
    """A plain train message gets an error reply, not a model update in the clear."""
    grid = make_grid(message_app(), 3, tmp_path)
    reply = _send(grid, FIRST_NODE, _train_content())
    assert reply.has_error()
    assert "secure-aggregation round" in reply.error.reason


@pytest.mark.parametrize(
    "record, why",
    [
        ({"stage": "R1", "msg.0": b"\x00" * 40}, "no session"),
        ({"stage": "R0", "msg.0": b"\x00" * 40, "id": 1, "flavour": "legacy"}, "wrong app"),
        ({"stage": "R0", "msg.0": b"\x00" * 40, "id": "one", "flavour": "message"}, "bad id"),
        ({"stage": "R9", "msg.0": b""}, "unknown stage"),
        ({"stage": "R1", "msg.0": b"x", "clip": 1.0}, "fields outside R0"),
        ({"stage": "R1"}, "no message"),
    ],
)
def test_a_node_refuses_malformed_requests(record, why, tmp_path: Path):
    """Requests a node cannot act on get an error reply and leave its state untouched."""
    grid = make_grid(message_app(), 3, tmp_path)
    before = grid.context(FIRST_NODE).state
    content = _train_content()
    content[CONFIG_KEY] = ConfigRecord(record)
    reply = _send(grid, FIRST_NODE, content)
    assert reply.has_error(), why
    assert "refused" in reply.error.reason or "training failed" in reply.error.reason
    assert grid.context(FIRST_NODE).state == before


def test_evaluate_messages_pass_through_untouched(tmp_path: Path):
    """The mods act on train messages only; other message types reach the app as sent."""
    grid = make_grid(message_app(), 3, tmp_path)
    content = _train_content()
    reply = list(
        grid.send_and_receive(
            [Message(content, dst_node_id=FIRST_NODE, message_type=MessageType.EVALUATE)]
        )
    )[0]
    assert reply.has_error() and "No evaluate function" in reply.error.reason


@settings(max_examples=40)
@given(st.integers(min_value=1, max_value=3_000_000))
def test_large_messages_are_stored_exactly_as_np_save_stores_them(length: int):
    """The uint8 Array carrying a large message holds np.save's bytes, so any numpy reads it."""
    import io

    from secagg.flower.records import _array_bytes, _uint8_array

    data = (bytes(range(256)) * (length // 256 + 1))[:length]
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(data, dtype=np.uint8), allow_pickle=False)
    array = _uint8_array(data)
    assert array.data == buffer.getvalue()
    assert _array_bytes("msg.0", array) == data
    assert array.numpy().tobytes() == data

"""A Flower Grid whose nodes are ClientApps in this process: no sockets, Flower's own bytes.

:class:`LoopbackGrid` lets a ServerApp workflow or strategy run against
in-process ClientApps while keeping what a deployment would do to the
messages: each message is deflated into Flower's content-addressed objects
and inflated again on the other side (their total size is what crosses the
wire), each ClientApp call gets a Context rebuilt from its serialised form
(a fresh process per message, as a SuperNode runs them), and the Context is
kept only when the app returns without raising; a raising app produces an
error reply. Replies are available as soon as the call returns, so a
timeout costs nothing: a node that does not answer is simply missing from
the replies.

Faults for tests: :meth:`LoopbackGrid.vanish` (the node stays listed and
never answers again, like a SIGKILLed SuperNode before its heartbeat
expires), ``before_delivery`` (called with each request before it is
delivered, e.g. to make a node vanish at a chosen stage) and
``after_reply`` (may replace or lose a reply, e.g. to inject malformed
payloads); ``deliver_twice`` and ``reply_twice`` repeat every request or
reply. :attr:`LoopbackGrid.exchanges` records bytes and seconds per
``send_and_receive`` for benchmarks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
from flwr.common.serde import context_from_proto, context_to_proto
from flwr.proto.message_pb2 import Context as ProtoContext
from flwr.serverapp.grid import Grid
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects
from flwr.supercore.inflatable.inflatable_utils import inflate_object_from_contents
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

__all__ = ["LoopbackGrid", "Exchange"]


@dataclass
class Exchange:
    """One ``send_and_receive`` (or ``push_messages``) call.

    Attributes:
        requests: Messages sent.
        replies: Replies returned.
        bytes_down: Serialised bytes of the requests (server to nodes).
        bytes_up: Serialised bytes of the replies (nodes to server).
        per_node_down: Node id -> bytes it received.
        per_node_up: Node id -> bytes it sent.
        client_seconds: Seconds spent inside the ClientApps (all nodes).
        transfer_seconds: Seconds spent serialising messages and contexts.
        context_seconds: The part of ``transfer_seconds`` spent on contexts.
        down_seconds: The part spent on requests.
        up_seconds: The part spent on replies.
        seconds: Wall time of the whole call.
        started: ``time.perf_counter()`` when the call began.
    """

    requests: int = 0
    replies: int = 0
    bytes_down: int = 0
    bytes_up: int = 0
    per_node_down: dict[int, int] = field(default_factory=dict)
    per_node_up: dict[int, int] = field(default_factory=dict)
    client_seconds: float = 0.0
    transfer_seconds: float = 0.0
    context_seconds: float = 0.0
    down_seconds: float = 0.0
    up_seconds: float = 0.0
    seconds: float = 0.0
    started: float = 0.0


def _transfer(message: Message) -> tuple[Message, int]:
    """The message as the other side inflates it, and the bytes on the wire."""
    contents = {oid: obj.deflate() for oid, obj in get_all_nested_objects(message).items()}
    size = sum(len(c) for c in contents.values())
    copy = inflate_object_from_contents(message.object_id, contents)
    assert isinstance(copy, Message)
    return copy, size


class LoopbackGrid(Grid):
    """A Grid over in-process ClientApps (see the module docstring).

    Args:
        client_app: The ClientApp every node runs (or a node id -> ClientApp map).
        node_ids: The nodes' ids (at least one; 1 is the SuperLink's own id).
        node_configs: Node id -> its node config (e.g. ``partition-id``).
        run_config: The run config every node's Context carries.
        run_id: The run id put on every message.
    """

    def __init__(
        self,
        client_app: ClientApp | Mapping[int, ClientApp],
        node_ids: Sequence[int],
        *,
        node_configs: Mapping[int, Mapping[str, Any]] | None = None,
        run_config: Mapping[str, Any] | None = None,
        run_id: int = 7,
    ) -> None:
        if not node_ids or SUPERLINK_NODE_ID in node_ids or len(set(node_ids)) != len(node_ids):
            raise ValueError(f"node ids must be distinct and not {SUPERLINK_NODE_ID}.")
        self._nodes = _Nodes(client_app, node_ids, node_configs, run_config, run_id)
        self._run = Run.create_empty(run_id)
        self._listed = list(node_ids)
        self._vanished: set[int] = set()
        self._replies: dict[str, list[Message]] = {}
        self.exchanges: list[Exchange] = []
        self.before_delivery: Callable[[int, Message], None] | None = None
        self.after_reply: Callable[[int, Message], Message | None] | None = None
        self.deliver_twice = False
        self.reply_twice = False
        # Messages built in this process take their run and node from here.
        TaskIdentity.run_id = run_id
        TaskIdentity.node_id = SUPERLINK_NODE_ID
        TaskIdentity.task_id = 0

    # -- faults -----------------------------------------------------------------

    def vanish(self, node_id: int) -> None:
        """The node never answers again but stays listed (a killed SuperNode)."""
        self._vanished.add(node_id)

    def leave(self, node_id: int) -> None:
        """The node disconnects: it is no longer listed and never answers."""
        self._vanished.add(node_id)
        if node_id in self._listed:
            self._listed.remove(node_id)

    def context(self, node_id: int) -> Context:
        """A copy of a node's stored Context."""
        return self._nodes.context(node_id)

    # -- Grid -------------------------------------------------------------------

    def set_run(self, run: Run) -> None:
        """Set the run (its id is put on every message)."""
        self._run = run

    @property
    def run(self) -> Run:
        """The run."""
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """A new instruction message (as Flower's grids build them)."""
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        """The listed nodes (a vanished node stays listed)."""
        return list(self._listed)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Deliver each message to its node's ClientApp now; the reply waits to be pulled."""
        exchange = Exchange(started=time.perf_counter())
        ids = [self._deliver(m, exchange) for m in messages]
        exchange.seconds = time.perf_counter() - exchange.started
        self.exchanges.append(exchange)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """The replies that exist for these messages (each returned once)."""
        out: list[Message] = []
        for mid in message_ids:
            out.extend(self._replies.pop(mid, []))
        return out

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Deliver the messages and return the replies (missing nodes: no reply, no wait)."""
        ids = list(self.push_messages(messages))
        replies = list(self.pull_messages(ids))
        exchange = self.exchanges[-1]
        exchange.replies = len(replies)
        return replies

    def _deliver(self, message: Message, exchange: Exchange) -> str:
        meta = message.metadata
        meta.__dict__["_run_id"] = self._run.run_id
        meta.__dict__["_src_node_id"] = SUPERLINK_NODE_ID
        message_id = str(uuid.uuid4())
        meta.__dict__["_message_id"] = message_id
        nid = meta.dst_node_id
        exchange.requests += 1
        for delivery in range(2 if self.deliver_twice else 1):
            t0 = time.perf_counter()
            received, size = _transfer(message)  # each delivery is a fresh copy
            received.metadata.__dict__["_message_id"] = message_id
            exchange.down_seconds += time.perf_counter() - t0
            exchange.transfer_seconds += time.perf_counter() - t0
            exchange.bytes_down += size
            exchange.per_node_down[nid] = exchange.per_node_down.get(nid, 0) + size
            if self.before_delivery is not None and delivery == 0:
                self.before_delivery(nid, received)
            if nid not in self._listed or nid in self._vanished:
                return message_id
            reply = self._nodes.run_app(nid, received, exchange)
            if self.after_reply is not None:
                reply = self.after_reply(nid, reply) if reply is not None else None
            if reply is None:
                continue
            t0 = time.perf_counter()
            back, size = _transfer(reply)
            back.metadata.__dict__["_message_id"] = str(uuid.uuid4())
            exchange.up_seconds += time.perf_counter() - t0
            exchange.transfer_seconds += time.perf_counter() - t0
            exchange.bytes_up += size
            exchange.per_node_up[nid] = exchange.per_node_up.get(nid, 0) + size
            copies = [back, back] if self.reply_twice else [back]
            self._replies.setdefault(message_id, []).extend(copies)
        return message_id


class _Nodes:
    """The nodes' ClientApps and their Contexts, stored serialised as a SuperNode keeps them."""

    def __init__(
        self,
        client_app: ClientApp | Mapping[int, ClientApp],
        node_ids: Sequence[int],
        node_configs: Mapping[int, Mapping[str, Any]] | None,
        run_config: Mapping[str, Any] | None,
        run_id: int,
    ) -> None:
        self._apps = (
            dict(client_app)
            if isinstance(client_app, Mapping)
            else dict.fromkeys(node_ids, client_app)
        )
        self._contexts: dict[int, bytes] = {}
        for nid in node_ids:
            context = Context(
                run_id=run_id,
                node_id=nid,
                node_config=dict((node_configs or {}).get(nid, {})),
                state=RecordDict(),
                run_config=dict(run_config or {}),
            )
            self._contexts[nid] = context_to_proto(context).SerializeToString()

    def context(self, node_id: int) -> Context:
        """A copy of a node's stored Context."""
        return context_from_proto(ProtoContext.FromString(self._contexts[node_id]))

    def run_app(self, nid: int, message: Message, exchange: Exchange) -> Message | None:
        """Run a node's ClientApp on a message with its stored Context (saved unless it raises)."""
        t0 = time.perf_counter()
        context = context_from_proto(ProtoContext.FromString(self._contexts[nid]))
        t1 = time.perf_counter()
        try:
            reply = self._apps[nid](message, context)
        except Exception as exc:  # a raising app: error reply, Context not saved
            exchange.client_seconds += time.perf_counter() - t1
            reason = f"{type(exc).__name__}: {exc}"
            return Message(Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason), reply_to=message)
        t2 = time.perf_counter()
        self._contexts[nid] = context_to_proto(context).SerializeToString()
        t3 = time.perf_counter()
        exchange.client_seconds += t2 - t1
        exchange.transfer_seconds += (t1 - t0) + (t3 - t2)
        exchange.context_seconds += (t1 - t0) + (t3 - t2)
        return reply

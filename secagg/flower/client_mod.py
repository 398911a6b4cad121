"""The client mods: a node's side of a secure-aggregation round in Flower.

:func:`secagg_mod` takes the place of Flower's ``secaggplus_mod`` in a legacy
app (``ClientApp(client_fn, mods=[secagg_mod])``); :func:`secagg_train_mod`
does the same for a Message-API app (``ClientApp(mods=[secagg_train_mod])``
or ``@app.train(mods=[secagg_train_mod])``).

Every stage arrives as a plain ``train`` message (:mod:`.records`). The first
one (R0) carries the training instructions: the mod trains (calls the app),
encodes the update (trained minus global parameters) and the example count
into one ring vector, fixes it as the session's input and only then answers
the R0 request, so a node whose training fails never joins. The reply holds
the protocol messages only: parameters, ``num_examples`` and metrics never
leave the node. Between messages the session lives in ``context.state`` as a
sealed blob (PROTOCOL.md §13); its key and sequence counter stay in the
node's :class:`~secagg.flower.node.NodeStore`. A request seen before (Flower
may deliver twice) gets the stored reply and never reaches the state machine.

A ``train`` message without a secure-aggregation stage is refused: a node
that runs this mod never sends a model update in the clear.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from logging import DEBUG, ERROR, WARNING
from typing import Any

from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.constant import ErrorCode
from flwr.common.logger import log

from ..exceptions import ProtocolViolationError, SecAggError
from ..protocol.client import Client
from ..protocol.config import Config
from ..protocol.messages import ConfigRequest, decode
from ..protocol.policy import ClientPolicy
from .node import NodeStore
from .records import (
    Payload,
    has_payload,
    put_payload,
    read_payload,
    record_of,
    strip_payload,
)
from .settings import CodecSpec
from .training import Flavour, TrainingError, read_global, read_trained, update, update_layout

__all__ = ["secagg_mod", "secagg_train_mod", "R0_FIELDS", "node_policy"]

#: Entries of the R0 ConfigRecord besides the stage and the messages.
R0_FIELDS = ("id", "flavour", "clip", "quantization-bits", "max-weight", "weight-key", "round")

# The one context.state record: the session (sealed blob and public facts) and
# the last request's digest with its reply. Few entries, each bytes: Flower
# serialises the whole Context around every message, so its shape is a cost.
_STATE = "secagg"
_DIGEST_LEN = 32

_POLICY_KEYS = {
    "secagg-gamma-max": ("gamma_max", float, 0.0),
    "secagg-min-n": ("min_n", int, 3),
    "secagg-min-t": ("min_t", int, 2),
    "secagg-min-n-min": ("min_n_min", int, 2),
    "secagg-require-majority": ("require_majority", bool, False),
}


class Refused(SecAggError):
    """This node does not take part (the sentence says why; logged on the node)."""


def node_policy(node_config: Mapping[str, Any]) -> ClientPolicy:
    """The node operator's policy from the node config (``secagg-min-n`` etc.).

    Args:
        node_config: The SuperNode's node config.

    Returns:
        The :class:`~secagg.protocol.policy.ClientPolicy` (semi_honest only:
        no registry digest).

    Raises:
        InvalidInputError: A policy entry has the wrong type or range.
    """
    fields: dict[str, Any] = {"registry_digest": None}
    for key, (name, kind, default) in _POLICY_KEYS.items():
        value = node_config.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise Refused(f"node config {key} must be a {kind.__name__}, got {value!r}.")
        fields[name] = value
    return ClientPolicy(**fields)


def secagg_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Secure aggregation for a legacy ``ClientApp(client_fn, ...)`` (replaces ``secaggplus_mod``).

    Args:
        msg: The incoming message.
        context: The node's context (its ``state`` keeps the sealed session).
        call_next: The rest of the app (training, for the first stage).

    Returns:
        The reply: protocol messages only, or an error reply when this node
        refuses or its training fails.
    """
    return _mod(msg, context, call_next, Flavour.LEGACY)


def secagg_train_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Secure aggregation for a Message-API ``ClientApp`` (``@app.train()``).

    Args:
        msg: The incoming message.
        context: The node's context (its ``state`` keeps the sealed session).
        call_next: The rest of the app (the train function, for the first stage).

    Returns:
        The reply: protocol messages only, or an error reply when this node
        refuses or its training fails.
    """
    return _mod(msg, context, call_next, Flavour.MESSAGE)


def _mod(msg: Message, context: Context, call_next: ClientAppCallable, flavour: Flavour) -> Message:
    if msg.metadata.message_type.split(".")[0] != MessageType.TRAIN:
        return call_next(msg, context)
    node = context.node_id
    if msg.has_error() or not has_payload(msg.content):
        log(
            ERROR,
            "secagg node %s: refused a train message outside a secure-aggregation round",
            node,
        )
        return _error(msg, "this node trains only inside a secure-aggregation round")
    try:
        payload = read_payload(msg.content, allowed_fields=R0_FIELDS)
        digest = _digest(payload.stage, payload.messages, payload.fields)
        cached = _cached_reply(context, digest)
        if cached is not None:
            log(DEBUG, "secagg node %s: %s delivered again, same reply", node, payload.stage)
            return Message(cached, reply_to=msg)
        if payload.stage != "R0" and payload.fields:
            raise Refused(f"only the R0 request carries parameters, {payload.stage} has some.")
        if len(payload.messages) != 1:
            raise Refused(f"a request carries one protocol message, got {len(payload.messages)}.")
        store = NodeStore.for_node(context.node_config, node)
        policy = node_policy(context.node_config)
        if payload.stage == "R0":
            replies = _start(msg, context, call_next, flavour, payload, digest, store, policy)
        else:
            replies = _continue(context, store, policy, payload, digest)
    except TrainingError as exc:
        log(ERROR, "secagg node %s: training failed, not joining: %s", node, exc)
        return _error(msg, "training failed on this node; it does not join the round")
    except SecAggError as exc:
        log(WARNING, "secagg node %s: refused the request: %s", node, exc)
        return _error(msg, "this node refused the secure-aggregation request")
    reply = put_payload(RecordDict(), payload.stage, replies)
    log(DEBUG, "secagg node %s: answered %s", node, payload.stage)
    return Message(reply, reply_to=msg)


def _start(
    msg: Message,
    context: Context,
    call_next: ClientAppCallable,
    flavour: Flavour,
    payload: Payload,
    digest: bytes,
    store: NodeStore,
    policy: ClientPolicy,
) -> list[bytes]:
    """R0: check the request, train, encode, start the session."""
    fields = payload.fields
    if fields.get("flavour") != flavour.value:
        raise Refused(
            f"the server runs a {fields.get('flavour')!r} session but this ClientApp uses the "
            f"{flavour.value} mod (secagg_mod for legacy apps, secagg_train_mod otherwise)."
        )
    client_id, spec, weight_key = _r0_fields(fields)
    request = bytes(payload.messages[0])  # a small request: its own copy
    parsed = decode(request)
    if not isinstance(parsed, ConfigRequest):
        raise Refused("the R0 request does not carry a config.")
    config = Config.from_canonical(parsed.config)
    policy.check(config)
    strip_payload(msg.content)
    sent = read_global(msg.content, flavour)
    codec = spec.codec(update_layout(sent), config.n)
    codec.check_config(config)
    try:
        out = call_next(msg, context)
    except Exception as exc:  # the app's own failure: the node simply does not join
        raise TrainingError(f"{type(exc).__name__}: {exc}") from exc
    if out.has_error():
        raise TrainingError(f"the app answered with an error (code {out.error.code}).")
    trained, examples = read_trained(out.content, flavour, sent, weight_key)
    if examples > spec.max_weight:
        log(WARNING, "secagg node %s: example count capped at max_weight", context.node_id)
    weight = min(examples, spec.max_weight) / spec.max_weight
    words = codec.encode(update(sent, trained), weight).take()
    client = Client(None, client_id, policy=policy)
    client.set_input(words)
    session_id = config.session_id(parsed.nonce)
    store.begin(session_id, digest)
    replies, blob = client.handle_and_export(request, store.key())
    _keep(context, client, blob, [digest], digest, "R0", replies)
    if blob is None:
        store.finish(session_id)
    return replies


def _continue(
    context: Context, store: NodeStore, policy: ClientPolicy, payload: Payload, digest: bytes
) -> list[bytes]:
    """R1..R4: restore the sealed session, advance the counter, handle, seal again."""
    request = bytes(payload.messages[0])  # a small request: its own copy
    record = record_of(context.state, _STATE, ConfigRecord)
    if record is None or "blob" not in record:
        raise Refused("no secure-aggregation session is in progress on this node.")
    blob, sid, client_id, seen_bytes = (record.get(k) for k in ("blob", "sid", "id", "seen"))
    if not (
        isinstance(blob, bytes)
        and isinstance(sid, bytes)
        and isinstance(client_id, int)
        and isinstance(seen_bytes, bytes)
        and len(seen_bytes) % _DIGEST_LEN == 0
    ):
        raise Refused("the stored session record is malformed.")
    seen = [seen_bytes[i : i + _DIGEST_LEN] for i in range(0, len(seen_bytes), _DIGEST_LEN)]
    if digest in seen:
        raise Refused("this request was already answered in this session.")
    key = store.key()
    with store.resume(sid) as entry:
        try:
            client = Client.restore(
                blob,
                key,
                session_id=sid,
                client_id=client_id,
                expected_seq=entry.counter,
                policy=policy,
            )
            entry.advance(digest)
        except ProtocolViolationError:
            if entry.counter == 0 or entry.last != digest:
                raise
            # The very request that advanced the counter, again (the app raised
            # after the journal moved, so Flower kept the previous state): it
            # gives the same bytes out.
            client = Client.restore(
                blob,
                key,
                session_id=sid,
                client_id=client_id,
                expected_seq=entry.counter - 1,
                policy=policy,
            )
    replies, new_blob = client.handle_and_export(request, key)
    if client.abort_code is not None:
        log(WARNING, "secagg node %s: session aborted (%s)", context.node_id, client.abort_code)
    _keep(context, client, new_blob, [*seen, digest], digest, payload.stage, replies)
    if new_blob is None:
        store.finish(sid)
    return replies


def _r0_fields(fields: Mapping[str, Any]) -> tuple[int, CodecSpec, str]:
    client_id = fields.get("id")
    if isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 1:
        raise Refused(f"the R0 request names no valid protocol id (got {client_id!r}).")
    clip, bits, max_weight = (fields.get(k) for k in ("clip", "quantization-bits", "max-weight"))
    if not isinstance(clip, float) or not isinstance(max_weight, float):
        raise Refused("the R0 request's clip and max-weight must be floats.")
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise Refused("the R0 request's quantization-bits must be an integer.")
    if not (math.isfinite(clip) and math.isfinite(max_weight)):
        raise Refused("the R0 request's clip and max-weight must be finite.")
    weight_key = fields.get("weight-key", "num-examples")
    if not isinstance(weight_key, str) or not weight_key:
        raise Refused("the R0 request's weight-key must be a non-empty string.")
    return client_id, CodecSpec(clip, bits, max_weight), weight_key


def _keep(
    context: Context,
    client: Client,
    blob: bytes | None,
    seen: list[bytes],
    digest: bytes,
    stage: str,
    replies: list[bytes],
) -> None:
    """Keep the sealed blob and public facts of the session (never the key or counter),
    and the request's digest with its reply, to answer a second delivery alike."""
    entries: dict[str, Any] = {
        "digest": digest,
        "stage": stage,
        "reply": b"".join(len(r).to_bytes(4, "big") + r for r in replies),
    }
    if blob is not None:
        assert client.session_id is not None
        entries.update(blob=blob, sid=client.session_id, id=client.id, seen=b"".join(seen))
    context.state[_STATE] = ConfigRecord(entries)


def _cached_reply(context: Context, digest: bytes) -> RecordDict | None:
    """The reply kept for this very request, if it is the last one answered."""
    record = record_of(context.state, _STATE, ConfigRecord)
    if record is None or record.get("digest") != digest:
        return None
    stage, packed = record.get("stage"), record.get("reply")
    if not isinstance(stage, str) or not isinstance(packed, bytes):
        raise Refused("the stored reply record is malformed.")
    replies, pos = [], 0
    while pos < len(packed):
        size = int.from_bytes(packed[pos : pos + 4], "big")
        if pos + 4 + size > len(packed):
            raise Refused("the stored reply record is malformed.")
        replies.append(packed[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return put_payload(RecordDict(), stage, replies)


def _digest(stage: str, messages: Sequence[bytes | memoryview], fields: Mapping[str, Any]) -> bytes:
    h = hashlib.sha256(b"secagg/flower/request")
    h.update(stage.encode())
    for data in messages:
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    for name in sorted(fields):
        h.update(f"{name}={fields[name]!r};".encode())
    return h.digest()


def _error(msg: Message, reason: str) -> Message:
    return Message(Error(code=ErrorCode.MOD_FAILED_PRECONDITION, reason=reason), reply_to=msg)

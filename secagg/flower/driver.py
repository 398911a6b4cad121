"""One round of secure aggregation driven over a Flower Grid (server side).

:class:`RoundSession` is shared by the legacy fit workflow and the
Message-API strategy. It maps the sampled node ids (in increasing order) to
protocol ids 1..n, builds the round's Config and codec from the
:class:`~secagg.flower.settings.Settings`, and runs each protocol round as
one ``grid.send_and_receive`` exchange of ``train`` messages with the stage
timeout. The first exchange (R0) also carries each node's training
instructions. Replies are checked (:func:`~secagg.flower.records.read_payload`),
exact duplicates removed, and the protocol bytes handed to
:class:`~secagg.protocol.server.Server`, which drops whoever sends nothing
or something wrong. A node that vanishes, answers with an error or sends a
malformed payload costs only its own contribution while enough holders
remain; otherwise the round ends as a logged failure.

Everything is logged through Flower's logger, one line per stage (who was
asked, who answered, who dropped and why, seconds), never a key, share or
vector.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from logging import ERROR, INFO, WARNING

from flwr.app import Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.common.logger import log
from flwr.serverapp.grid import Grid

from ..exceptions import MalformedMessageError, SecAggError
from ..protocol.server import Server
from ..protocol.vocabulary import State
from .records import put_payload, read_payload
from .settings import Settings
from .training import (
    Flavour,
    Model,
    TrainingError,
    apply_mean,
    model_record,
    read_global,
    same_arrays,
    update_layout,
)

__all__ = ["RoundSession", "RoundOutcome", "StageReport", "STAGE_NAMES", "failed_round"]

#: What each protocol round does, for the logs.
STAGE_NAMES = {
    "R0": "advertise keys (after local training)",
    "R1": "share keys",
    "R2": "collect masked vectors",
    "R3": "consistency check",
    "R4": "unmask",
}


@dataclass
class StageReport:
    """What one stage's exchange did.

    Attributes:
        stage: "R0".."R4".
        asked: Node ids sent a request.
        answered: Node ids whose reply was well formed.
        dropped: Node id -> why it counted as dropped in this stage.
        seconds: Wall time of the exchange and of closing the round.
    """

    stage: str
    asked: tuple[int, ...]
    answered: tuple[int, ...] = ()
    dropped: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class RoundOutcome:
    """The result of one round.

    Attributes:
        server_round: Flower's round number.
        completed: True when the aggregate was released.
        model: The new global parameters (global + weighted mean update).
        total_weight: Sum over the survivors of their capped example counts.
        survivors: Node ids whose update is in the aggregate (U3).
        dropped: Node id -> "<stage>: <why>" for every sampled node left out.
        reason: Why the round failed (None when completed).
        stages: One report per exchange.
    """

    server_round: int
    completed: bool = False
    model: Model | None = None
    total_weight: float = 0.0
    survivors: tuple[int, ...] = ()
    dropped: dict[int, str] = field(default_factory=dict)
    reason: str | None = None
    stages: list[StageReport] = field(default_factory=list)


class RoundSession:
    """The server side of one round, over a Grid.

    Args:
        settings: The round's knobs.
        grid: Flower's Grid.
        server_round: Flower's round number (the messages' group id).
        flavour: Legacy (FitIns) or Message-API requests.
        requests: Node id -> the training instructions (record content) it gets.
        weight_key: MetricRecord key of the example count (Message API).

    Raises:
        SecAggError: Fewer than 3 nodes, knobs the planner refuses for this
            many nodes, or instructions that do not all carry the same
            floating-point global parameters. The caller logs it as the
            round's failure.
    """

    def __init__(
        self,
        settings: Settings,
        grid: Grid,
        server_round: int,
        flavour: Flavour,
        requests: Mapping[int, RecordDict],
        weight_key: str = "num-examples",
    ) -> None:
        self.settings = settings
        self.grid = grid
        self.flavour = flavour
        self.weight_key = weight_key
        self.outcome = RoundOutcome(server_round)
        self.nodes = tuple(sorted(requests))
        self.node_of = {i + 1: nid for i, nid in enumerate(self.nodes)}
        self.id_of = {nid: i for i, nid in self.node_of.items()}
        self._first = dict(requests)
        if not self.nodes:
            raise TrainingError("no node was sampled.")
        records = [model_record(requests[nid], flavour) for nid in self.nodes]
        if not all(same_arrays(records[0], r) for r in records[1:]):
            raise TrainingError(
                "secure aggregation needs the same global parameters in every node's "
                "instructions (each node encodes its update against them)."
            )
        self.sent = read_global(requests[self.nodes[0]], flavour)
        self.config, self.codec = settings.session(len(self.nodes), update_layout(self.sent))
        self.server = Server(self.config)
        self._requests: dict[int, bytes] | None = None
        self._finished = False
        self._start = time.monotonic()
        cfg = self.config
        log(
            INFO,
            "secagg round %s: %s nodes, k = %s, t = %s, n_min = %s, b = %s bits, m = %s",
            *(server_round, cfg.n, cfg.k, cfg.t, cfg.n_min, cfg.b, cfg.m),
        )

    def run(self, *, stop_before_unmasking: bool = False) -> RoundOutcome:
        """Run the stages (all of them, or up to the masked upload).

        Args:
            stop_before_unmasking: Stop once the masked vectors are in (the
                Message-API strategy unmasks in ``aggregate_train``).

        Returns:
            The outcome so far (complete once the last stage ran).
        """
        if self._requests is None:
            self._requests = self.server.start()
        while self.server.round is not None:
            if stop_before_unmasking and self.server.round in ("R3", "R4"):
                return self.outcome
            self._stage(self.server.round)
        return self._finish()

    def _stage(self, stage: str) -> None:
        assert self._requests is not None
        requests, first = self._requests, stage == "R0"
        messages = []
        for pid, data in sorted(requests.items()):
            nid = self.node_of[pid]
            # A strategy may hand every node the same RecordDict: each gets its own.
            content = RecordDict(dict(self._first.pop(nid).items())) if first else RecordDict()
            fields = (
                r0_fields(self.settings, self.flavour, self.weight_key, pid, self.outcome)
                if first
                else None
            )
            put_payload(content, stage, [data], fields)
            messages.append(
                Message(
                    content,
                    dst_node_id=nid,
                    message_type=MessageType.TRAIN,
                    group_id=str(self.outcome.server_round),
                )
            )
        report = StageReport(stage, tuple(self.node_of[p] for p in sorted(requests)))
        began = time.monotonic()
        replies = self.grid.send_and_receive(messages, timeout=self.settings.stage_timeout(first))
        problems = feed_replies(self.server, self.id_of, stage, requests, replies, report)
        self._requests = self.server.close_round()
        report.seconds = time.monotonic() - began
        for pid, round_name in self.server.dropped.items():
            nid = self.node_of[pid]
            if round_name == stage and nid not in self.outcome.dropped:
                why = problems.get(nid) or self.server.drop_reasons.get(pid) or "no reply in time"
                report.dropped[nid] = why
                self.outcome.dropped[nid] = f"{stage}: {why}"
        self.outcome.stages.append(report)
        log_stage(self.outcome.server_round, report)

    def _finish(self) -> RoundOutcome:
        if self._finished:
            return self.outcome
        self._finished = True
        outcome = self.outcome
        elapsed = time.monotonic() - self._start
        if self._requests:
            # Abort notices let the nodes erase their session now; nobody waits for replies.
            push_notices(self.grid, self.node_of, self._last_stage(), self._requests, outcome)
            self._requests = {}
        result = self.server.result
        if self.server.state is not State.COMPLETED or result is None:
            return self.fail(f"the session aborted: {self.server.abort_reason}")
        try:
            mean, weight = self.codec.decode_mean(result.sum, len(result.survivors))
        except SecAggError as exc:
            return self.fail(f"the aggregate does not decode: {exc}")
        outcome.completed = True
        outcome.model = apply_mean(self.sent, mean)
        outcome.total_weight = weight * float(self.settings.max_weight)
        outcome.survivors = tuple(self.node_of[p] for p in result.survivors)
        log(
            INFO,
            "secagg round %s: aggregate of %s of %s nodes released (%.2f s)",
            outcome.server_round,
            len(outcome.survivors),
            len(self.nodes),
            elapsed,
        )
        return outcome

    def _last_stage(self) -> str:
        return self.outcome.stages[-1].stage if self.outcome.stages else "R0"

    def fail(self, reason: str) -> RoundOutcome:
        """End the round as a failure: logged, and the model stays unchanged."""
        self.outcome.reason = reason
        log(
            ERROR,
            "secagg round %s failed, the model is unchanged: %s",
            self.outcome.server_round,
            reason,
        )
        return self.outcome


def r0_fields(
    settings: Settings, flavour: Flavour, weight_key: str, pid: int, outcome: RoundOutcome
) -> dict[str, object]:
    """What the first stage tells a node besides the protocol message: its id and how
    to encode (clip, quantisation, weight cap, where its example count is)."""
    spec = settings.codec_spec
    return {
        "id": pid,
        "flavour": flavour.value,
        "clip": float(spec.clip),
        "quantization-bits": spec.quantization_bits,
        "max-weight": float(spec.max_weight),
        "weight-key": weight_key,
        "round": outcome.server_round,
    }


def push_notices(
    grid: Grid,
    node_of: Mapping[int, int],
    stage: str,
    notices: Mapping[int, bytes],
    outcome: RoundOutcome,
) -> None:
    """Send the server's last messages (abort notices) without waiting for replies."""
    grid.push_messages(
        [
            Message(
                put_payload(RecordDict(), stage, [data]),
                dst_node_id=node_of[pid],
                message_type=MessageType.TRAIN,
                group_id=str(outcome.server_round),
            )
            for pid, data in sorted(notices.items())
        ]
    )


def feed_replies(
    server: Server,
    id_of: Mapping[int, int],
    stage: str,
    requests: Mapping[int, bytes],
    replies: object,
    report: StageReport,
) -> dict[int, str]:
    """Hand each well-formed reply's messages to the server, once; node id -> what was
    wrong with the replies that were not (error, malformed)."""
    problems: dict[int, str] = {}
    seen: dict[int, list[bytes | memoryview]] = {}
    answered: list[int] = []
    for reply in replies:  # type: ignore[attr-defined]
        nid = reply.metadata.src_node_id
        pid = id_of.get(nid)
        if pid is None or pid not in requests:
            log(WARNING, "secagg: ignored a reply from node %s, which was not asked", nid)
            continue
        if reply.has_error():
            problems.setdefault(nid, f"error reply: {reply.error.reason}")
            continue
        try:
            payload = read_payload(reply.content, (stage,))
        except MalformedMessageError as exc:
            problems.setdefault(nid, f"malformed reply: {exc}")
            continue
        fresh = False
        for data in payload.messages:
            earlier = seen.setdefault(nid, [])
            if data in earlier:  # bytes equality: only compared when a node repeats
                continue  # an exact duplicate never reaches the state machine
            earlier.append(data)
            fresh = True
            server.receive(pid, data)
        if fresh:
            answered.append(nid)
    report.answered = tuple(sorted(set(answered)))
    return problems


def log_stage(server_round: int, report: StageReport) -> None:
    """One INFO line per stage, one WARNING per node dropped in it."""
    log(
        INFO,
        "secagg round %s, %s %s: %s asked, %s answered, %.2f s",
        server_round,
        report.stage,
        STAGE_NAMES[report.stage],
        len(report.asked),
        len(report.answered),
        report.seconds,
    )
    for nid, why in sorted(report.dropped.items()):
        log(
            WARNING,
            "secagg round %s: node %s dropped at %s: %s",
            server_round,
            nid,
            report.stage,
            why,
        )


def failed_round(server_round: int, reason: str) -> RoundOutcome:
    """A round that could not start, logged like any failure."""
    log(ERROR, "secagg round %s failed, the model is unchanged: %s", server_round, reason)
    return RoundOutcome(server_round, reason=reason)

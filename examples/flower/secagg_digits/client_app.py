"""The ClientApp: local training behind secagg's client mod.

``secagg_train_mod`` takes every ``train`` message: in the first stage it
calls the train function below, then encodes and masks the update and its
example count; the reply carries protocol messages only. Each node reads its
partition from its node config (``partition-id``, ``num-partitions``; the
simulation engine sets both) and keeps its secagg key and journal in
``secagg-dir`` (default ``$FLWR_HOME/secagg/node-<node id>``).
"""

from __future__ import annotations

from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from secagg.flower import secagg_train_mod

from .task import evaluate, partition, train

app = ClientApp(mods=[secagg_train_mod])


@app.train()
def local_training(msg: Message, context: Context) -> Message:
    """Train on this node's partition from the global parameters in ``msg``."""
    node, run = context.node_config, context.run_config
    pid, parts = int(node["partition-id"]), int(node["num-partitions"])
    data = partition(pid, parts, int(run["seed"]), float(run["alpha"]))
    record = msg.content["arrays"]
    params, loss = train(
        record.to_numpy_ndarrays(),
        data,
        epochs=int(run["local-epochs"]),
        lr=float(run["lr"]),
        batch_size=int(run["batch-size"]),
        seed=int(run["seed"]),
        partition_id=pid,
        server_round=int(msg.content["config"]["server-round"]),
    )
    arrays = ArrayRecord({k: Array(p) for k, p in zip(record.keys(), params, strict=True)})
    # secagg_train_mod reads num-examples into the masked vector; no metric leaves the node.
    metrics = MetricRecord({"num-examples": int(data[1].size), "train-loss": loss})
    return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)


@app.evaluate()
def local_evaluation(msg: Message, context: Context) -> Message:
    """Evaluate the global parameters on this node's partition (metrics are not masked)."""
    node, run = context.node_config, context.run_config
    pid, parts = int(node["partition-id"]), int(node["num-partitions"])
    data = partition(pid, parts, int(run["seed"]), float(run["alpha"]))
    loss, accuracy = evaluate(msg.content["arrays"].to_numpy_ndarrays(), data)
    metrics = MetricRecord({"num-examples": int(data[1].size), "loss": loss, "accuracy": accuracy})
    return Message(RecordDict({"metrics": metrics}), reply_to=msg)

"""PNG plots of federated runs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .federation import RunResult

__all__ = ["plot_accuracy", "plot_round_time"]


def _pyplot() -> Any:
    # matplotlib is an optional dependency (the demo extra): imported only when
    # a plot is drawn, so that importing fl does not need it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Test accuracy per round, one line per labelled run; written to ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    # The plain baseline is dashed: it usually lies exactly on the secure curve.
    for label, run in runs:
        ax.plot(
            [r.round for r in run.records],
            [r.accuracy for r in run.records],
            label=label,
            marker="o",
            markersize=2.5,
            linewidth=1.3,
            linestyle="--" if not run.secure else "-",
        )
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Federated training on UCI digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_round_time(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Aggregation time per round (milliseconds), one line per labelled run."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, run in runs:
        ax.plot(
            [r.round for r in run.records],
            [1000 * r.agg_time for r in run.records],
            label=label,
            marker="o",
            markersize=2.5,
            linewidth=1.3,
        )
    ax.set_xlabel("round")
    ax.set_ylabel("aggregation time per round (ms)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best")
    ax.set_title("Time per round")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

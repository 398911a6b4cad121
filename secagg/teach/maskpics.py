"""Pictures of the masking lesson: the session's graph and the vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .canvas import Picture, figure, finish
from .masks import MaskingRun

__all__ = ["masking_graph", "masking_vectors"]


FATE_STYLE = {
    "survivor": ("#2ca02c", "survivor (U3): b_u rebuilt"),
    "R2": ("#ff7f0e", "shared, then dropped: s_u^SK rebuilt"),
    "R1": ("#9e9e9e", "dropped before sharing: nothing rebuilt"),
}


def _fate_key(run: MaskingRun, u: int) -> str:
    return "survivor" if u in run.u3 else "R2" if u in run.u2 else "R1"


def masking_graph(run: MaskingRun) -> Picture:
    """The session's graph on its ring, each client coloured by what the server rebuilt."""
    graph, n = run.graph, run.config.n
    fig = figure(7.2, 6.6)
    ax = fig.subplots()
    where = {}
    for pos, u in enumerate(graph.order):
        angle = np.pi / 2 - 2 * np.pi * pos / n
        where[u] = (np.cos(angle), np.sin(angle))
    for u in range(1, n + 1):
        for v in graph.neighbours(u):
            if u < v:
                gone = u not in run.u3 or v not in run.u3
                ax.plot(
                    *zip(where[u], where[v], strict=True),
                    color="grey",
                    linestyle="--" if gone else "-",
                    linewidth=1,
                    alpha=0.6,
                    zorder=1,
                )
    shown = set()
    for u in range(1, n + 1):
        key = _fate_key(run, u)
        colour, label = FATE_STYLE[key]
        ax.scatter(
            *where[u],
            s=900,
            color=colour,
            edgecolors="black",
            zorder=3,
            label=None if key in shown else label,
        )
        shown.add(key)
        ax.text(*where[u], str(u), ha="center", va="center", fontsize=13, weight="bold", zorder=4)
        px, py = where[u]
        ax.text(
            1.25 * px,
            1.25 * py,
            f"pos {graph.ring_position(u)}",
            ha="center",
            va="center",
            fontsize=8,
            color="dimgray",
        )
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.75, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="lower center", fontsize=9, ncol=1, frameon=True, markerscale=0.3)
    if graph.complete:
        what = f"complete graph, n = {n}: everyone masks with everyone"
    else:
        what = (
            f"Harary ring, n = {n}, k = {graph.k}: ring order π = {graph.order}\n"
            "(drawn from the session id); each client masks with its k nearest on the ring"
        )
    ax.set_title(what + "\ndashed: masks with a client outside U3", fontsize=10)
    return finish(fig, "the session's graph")


def _table(ax: Any, rows: Sequence[tuple[str, np.ndarray | None]], top: int, title: str) -> None:
    width = next(len(r) for _, r in rows if r is not None)
    data = np.array(
        [np.full(width, -1.0) if r is None else r.astype(float) for _, r in rows], dtype=float
    )
    shown = np.ma.masked_less(data, 0)
    ax.imshow(shown, cmap="viridis", vmin=0, vmax=top - 1, aspect="auto")
    for i, (_, row) in enumerate(rows):
        for j in range(data.shape[1]):
            if row is None:
                ax.text(j, i, "—", ha="center", va="center", fontsize=9, color="grey")
                continue
            v = int(data[i, j])
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if v < 0.6 * top else "black",
            )
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([label for label, _ in rows], fontsize=9)
    ax.set_xticks(range(data.shape[1]))
    ax.set_xticklabels([f"w{j}" for j in range(data.shape[1])], fontsize=8)
    ax.set_title(title, fontsize=10)


def masking_vectors(run: MaskingRun) -> Picture:
    """Each client's input and masked vector, and the server's sum losing its masks."""
    cfg = run.config
    top = run.modulus
    ids = range(1, cfg.n + 1)
    inputs = [(f"x_{u}", run.inputs[u].astype(np.int64)) for u in ids]
    masked = [
        (f"y_{u}" if u in run.masked else f"y_{u} never sent", run.masked.get(u)) for u in ids
    ]
    steps = run.sum_steps()
    gone = list(run.reconstructed["pairwise"])
    sums = [
        ("Σ y_u over U3", steps["sum_y"]),
        ("− Σ PRG(b_u)", steps["self"]),
        (
            f"− masks with {', '.join(map(str, gone))}" if gone else "− masks with dropped",
            steps["dangling"],
        ),
        ("= server's result", steps["result"]),
        ("plain Σ x_u (check)", steps["plain"]),
    ]
    fig = figure(12, 0.42 * cfg.n + 2.6)
    a, b, c = fig.subplots(1, 3)
    _table(a, inputs, top, "inputs x_u (small)")
    _table(b, masked, top, "what the server receives: y_u")
    _table(c, sums, top, f"the sum over U3 = {list(run.u3)}")
    fig.suptitle(
        f"Masking: n = {cfg.n}, k = {cfg.k}, t = {cfg.t}, m = {cfg.m} words mod 2^{cfg.b} = {top}"
        " (colour = value)"
    )
    return finish(fig, "inputs, masked vectors and the sum")

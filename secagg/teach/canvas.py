"""What every teaching picture shares: the Picture value, the figure, the colours.

Figures are built with matplotlib's object API, without pyplot, so no
backend or global state is involved; matplotlib (the ``demo`` extra) is
imported only when a figure is made.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import SecAggError

__all__ = [
    "CHOSEN_COLOUR",
    "SECRET_COLOUR",
    "SHARE_COLOUR",
    "Picture",
    "colours",
    "figure",
    "finish",
    "save",
]

SECRET_COLOUR = "#d62728"
SHARE_COLOUR = "#1f77b4"
CHOSEN_COLOUR = "#ff7f0e"
DPI = 110


@dataclass(frozen=True)
class Picture:
    """A finished picture.

    Attributes:
        png: the PNG file's bytes.
        title: what it shows.
    """

    png: bytes
    title: str

    def _repr_png_(self) -> bytes:
        return self.png


def figure(width: float, height: float) -> Any:
    """A matplotlib Figure with constrained layout.

    Raises:
        SecAggError: matplotlib is not installed (it comes with the demo extra).
    """
    # matplotlib is an optional dependency (the demo extra), needed only to draw.
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SecAggError(
            "drawing the lessons needs matplotlib: install the demo extra, "
            "pip install 'secagg[demo]'."
        ) from None
    return Figure(figsize=(width, height), layout="constrained")


def finish(fig: Any, title: str) -> Picture:
    """The figure as a PNG picture."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return Picture(buf.getvalue(), title)


def save(picture: Picture, path: str | Path) -> Path:
    """Write ``picture`` to ``path`` (a .png file); returns the path."""
    out = Path(path)
    out.write_bytes(picture.png)
    return out


def colours(count: int) -> list[Any]:
    """``count`` distinct colours (matplotlib's tab10, repeating)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(count)]

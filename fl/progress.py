"""Progress of the demo's runs on stderr: a bar on a terminal, one line per run elsewhere.

On a terminal each run gets a tqdm bar (tqdm is optional: the ``demo``
extra). Anywhere else (a log file, CI), or without tqdm, each run writes
one summary line when it ends, such as ``masking: 30 rounds, 1.4 s, final
accuracy 0.938``: a redrawn bar would fill a log with carriage returns.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .federation import RoundRecord, RunResult

__all__ = ["RunProgress", "summary_line"]


def summary_line(label: str, result: RunResult) -> str:
    """One line on a finished run: rounds (and aborted ones), wall time, final accuracy."""
    aborted = sum(1 for r in result.records if r.aborted is not None)
    rounds = f"{len(result.records)} rounds" + (f" ({aborted} aborted)" if aborted else "")
    return (
        f"{label}: {rounds}, {result.wall_time:.1f} s, final accuracy {result.final_accuracy:.3f}"
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _tqdm_bar(total: int, label: str, stream: TextIO) -> Any | None:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, file=stream, unit="round", dynamic_ncols=True)


class RunProgress:
    """Reports one federated run on a text stream (default: stderr).

    Pass :meth:`round_done` as ``run_federated``'s ``progress`` callback and
    call :meth:`finish` with the result; :meth:`close` (or leaving the
    ``with`` block) ends a bar whatever happened.

    Args:
        label: The run's name, first on its bar or line.
        total: Rounds the run will take.
        stream: Where to write (default ``sys.stderr``).
        bar: Draw a tqdm bar (default: when ``stream`` is a terminal and
            tqdm is installed). A bar is never drawn without tqdm.
    """

    def __init__(
        self, label: str, total: int, stream: TextIO | None = None, bar: bool | None = None
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if bar is None:
            bar = _is_terminal(self.stream)
        self._bar = _tqdm_bar(total, label, self.stream) if bar else None

    @property
    def draws_bar(self) -> bool:
        """True when a tqdm bar is drawn (else one line is written by :meth:`finish`)."""
        return self._bar is not None

    def round_done(self, index: int, record: RoundRecord) -> None:
        """Advance the bar by one round, showing the round's test accuracy."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"acc {record.accuracy:.3f}", refresh=False)
            self._bar.update(1)

    def finish(self, result: RunResult) -> None:
        """End the report of a finished run (the summary line when there is no bar)."""
        if self._bar is None:
            self.stream.write(summary_line(self.label, result) + "\n")
            self.stream.flush()
        self.close()

    def close(self) -> None:
        """End the bar, if any (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

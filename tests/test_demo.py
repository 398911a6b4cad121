"""Smoke tests of the demo CLI (python -m fl) with tiny settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fl.cli import ProgressBar, main

LAST_LINE = re.compile(
    r"^final test accuracy: secure (\d\.\d{3}), plain (\d\.\d{3}), difference ([+-]\d\.\d{3})$"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_runs_end_to_end(tmp_path, capsys):
    """Five clients, two rounds: the table, audit and comparison are printed, both
    plots are written as PNG files, and the last line reports the accuracies."""
    out = tmp_path / "demo"
    code = main(["--clients", "5", "--rounds", "2", "--out", str(out), "--seed", "1"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.strip().splitlines()
    m = LAST_LINE.match(lines[-1])
    assert m, lines[-1]
    secure, plain, diff = (float(g) for g in m.groups())
    assert diff == pytest.approx(secure - plain, abs=0.0015)
    text = captured.out
    assert "round accuracy" in text and "What the server held" in text
    assert "chi-square" in text and "Pearson" in text
    assert "secure + DP" in text and "epsilon" in text
    for name in ("accuracy.png", "round_time.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert str(out.resolve()) in text
    assert "secure" in captured.err  # the progress bar goes to stderr


def test_demo_module_entry_point(tmp_path):
    """``python -m fl`` works as a module (subprocess), FedNova and the MLP included."""
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fl",
            "--clients",
            "4",
            "--rounds",
            "2",
            "--model",
            "mlp",
            "--strategy",
            "fednova",
            "--no-dp-run",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert LAST_LINE.match(proc.stdout.strip().splitlines()[-1])
    assert (out / "accuracy.png").exists()


def test_demo_rejects_bad_settings(tmp_path, capsys):
    """Impossible settings exit with code 2 and a sentence on stderr, no traceback."""
    code = main(["--clients", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "Traceback" not in err


def test_progress_bar_draws_on_its_stream(tmp_path):
    """The progress bar redraws one line in place and ends it."""
    import io

    buf = io.StringIO()
    bar = ProgressBar(4, "x", stream=buf, width=8)
    bar.update(2, "half")
    bar.close()
    s = buf.getvalue()
    assert s.startswith("\r") and "[####----]" in s and "2/4" in s and s.endswith("\n")

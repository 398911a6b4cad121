"""Tests for ``python -m secagg info`` (secagg.teach.info)."""

from __future__ import annotations

import json

import pytest

from secagg import __version__, _core, crypto, prg
from secagg.__main__ import main


def test_info_json_reports_what_the_modules_report(capsys: pytest.CaptureFixture[str]) -> None:
    """info --json names the version, core, keystream implementations and crypto backend."""
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {
        "version": __version__,
        "core": _core.version(),
        "implementations": list(prg.implementations()),
        "implementation": prg.selected_implementation(),
        "crypto_backend": crypto.backend_name(),
    }


def test_info_text_has_one_line_per_field(capsys: pytest.CaptureFixture[str]) -> None:
    """The plain form prints one aligned line per field, the crypto backend last."""
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "version",
        "core",
        "implementations",
        "implementation",
        "crypto_backend",
    ]
    assert lines[-1].endswith(crypto.backend_name())

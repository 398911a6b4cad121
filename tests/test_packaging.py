"""Packaging metadata: what an install puts into site-packages, and the license field."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

META = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
SETUPTOOLS = META["tool"]["setuptools"]


def _installed(package: str) -> bool:
    return any(fnmatch(package, p) for p in SETUPTOOLS["packages"]["find"]["include"])


@pytest.mark.parametrize("package", ["secagg", "secagg.protocol", "secagg.teach"])
def test_the_library_is_installed(package: str):
    """secagg and its subpackages go into the wheel."""
    assert _installed(package)


@pytest.mark.parametrize("package", ["fl", "fl.data", "bench", "tests", "secagg_demo"])
def test_no_other_top_level_package_is_installed(package: str):
    """The demo fl (and anything not under secagg) stays out of site-packages."""
    assert not _installed(package)
    assert package not in SETUPTOOLS.get("package-data", {})


def test_license_is_an_spdx_expression():
    """project.license is an SPDX string (PEP 639) naming the shipped LICENSE file,
    with no legacy license classifier beside it."""
    project = META["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    build = META["build-system"]["requires"]
    assert "setuptools>=77" in build  # the first setuptools that reads PEP 639 metadata

"""Building from source: the abi3 tag of the compiled module and wheel, and the one-sentence
error when no C compiler is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import secagg._ffi

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TREE = (ROOT / "setup.py").exists() and (ROOT / "csrc").is_dir()
needs_tree = pytest.mark.skipif(not SOURCE_TREE, reason="needs the source tree (setup.py, csrc/)")


def test_the_compiled_module_is_abi3():
    """The compiled core is built against the limited API (an .abi3.so)."""
    assert Path(secagg._ffi.__file__).name == "_ffi.abi3.so"


@needs_tree
def test_setup_tags_the_wheel_abi3():
    """setup.py asks bdist_wheel for the cp311 limited-API tag and build.py for py_limited_api."""
    assert (
        'options={"bdist_wheel": {"py_limited_api": LIMITED_API}}'
        in (ROOT / "setup.py").read_text()
    )
    assert 'LIMITED_API = "cp311"' in (ROOT / "setup.py").read_text()
    assert "py_limited_api=True" in (ROOT / "build.py").read_text()


@needs_tree
def test_missing_compiler_is_one_sentence(tmp_path: Path):
    """A source build whose C compiler does not exist stops with one sentence that says so
    and names what to install, not a traceback."""
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("setup.py", "build.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "csrc", tree / "csrc")
    shutil.copytree(
        ROOT / "secagg", tree / "secagg", ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    env = dict(os.environ, CC=str(tmp_path / "no-such-cc"))
    proc = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--build-temp", "t", "--build-lib", "l"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "no C compiler was found" in output and "apt-get install gcc" in output
    assert "Traceback" not in output
    assert not list(tree.rglob("*.so"))

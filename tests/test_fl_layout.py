"""Structure of fl/: one direction of imports, none hidden in functions, small files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fl

FL = Path(fl.__file__).resolve().parent

#: fl's modules from the bottom up (as fl/__init__.py lists them): each may
#: import only modules before it.
ORDER = [
    "data",
    "models",
    "training",
    "config",
    "privacy",
    "plan",
    "boundary",
    "aggregators",
    "paillier",
    "paillier_runs",
    "multiserver",
    "paths",
    "audit",
    "server",
    "federation",
    "plots",
    "report",
    "compare",
    "progress",
    "cli",
    "__main__",
]

#: Imports inside functions that are allowed, each for an optional dependency.
OPTIONAL = {
    ("audit.py", "scipy.stats"),
    ("plots.py", "matplotlib"),
    ("plots.py", "matplotlib.pyplot"),
    ("progress.py", "tqdm"),
}


def _modules() -> list[Path]:
    return sorted(FL.glob("*.py"))


def _local_imports(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fl."):
            out.add(node.module.split(".")[1])
    return out


def test_every_fl_module_has_a_place_in_the_order():
    """The layering list names exactly fl's modules (a new module must be placed)."""
    assert sorted(p.stem for p in _modules() if p.stem != "__init__") == sorted(ORDER)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_fl_modules_import_only_modules_below_them(path: Path):
    """A module imports only modules listed before it: no import loop can form."""
    if path.stem == "__init__":
        return
    below = set(ORDER[: ORDER.index(path.stem)])
    used = _local_imports(ast.parse(path.read_text()))
    assert used <= below, f"{path.name} imports {sorted(used - below)} from above it"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_imports_hidden_in_functions(path: Path):
    """Imports sit at module level, except the listed optional dependencies."""
    hidden = []
    for func in ast.walk(ast.parse(path.read_text())):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                hidden += [(path.name, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                hidden.append((path.name, ("." * node.level) + (node.module or "")))
    assert set(hidden) <= OPTIONAL, sorted(set(hidden) - OPTIONAL)


def test_fl_package_imports_eagerly():
    """``import fl`` binds its public names directly, with no lazy module hook."""
    assert not hasattr(fl, "__getattr__")
    assert fl.FLConfig.__module__ == "fl.config"
    assert fl.run_federated.__module__ == "fl.federation"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_fl_files_and_classes_stay_small(path: Path):
    """Each fl file stays within 450 lines and each class within 150."""
    text = path.read_text()
    assert text.count("\n") <= 450
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 150, f"class {node.name} has {length} lines"

"""The import graph of secagg/ and fl/: no loop, and no module importing a higher layer.

Read statically from the sources (every import statement, including any inside
a function), so a loop hidden in a function body fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fl
import secagg

# The packages as imported (from the tree, or installed elsewhere by the CI jobs).
PACKAGES = {"secagg": Path(secagg.__file__).parent, "fl": Path(fl.__file__).parent}

# Lower numbers are lower layers (DESIGN.md, "Layers"); a module may import
# only modules of its own layer or below.
LAYERS = [
    ("secagg.protocol", 1),
    ("secagg.paillier", 2),
    ("secagg.multiserver", 2),
    ("secagg.flower", 3),
    ("secagg.teach", 3),
    ("secagg.__main__", 3),
    ("fl", 4),
    ("secagg", 0),
]


def _layer(module: str) -> int:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    raise AssertionError(f"no layer for {module}")


def _module_name(path: Path, package: str) -> str:
    parts = [package, *path.relative_to(PACKAGES[package]).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports (``from pkg import sub`` counts
    as importing ``pkg.sub`` only, not the package's own __init__)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = {f"{module}.{a.name}" for a in node.names}
            found.update(subs & modules)
            if not subs <= modules:
                found.add(module)
    return found & modules


def _graph() -> dict[str, set[str]]:
    files = {
        _module_name(p, name): p for name, root in PACKAGES.items() for p in root.rglob("*.py")
    }
    modules = set(files)
    return {name: _imports(path, name, modules) - {name} for name, path in files.items()}


GRAPH = _graph()


def test_the_graph_was_read():
    """The scan finds the package's modules and their internal imports."""
    assert "secagg.protocol.client" in GRAPH and "fl.federation" in GRAPH
    assert "secagg.protocol.config" in GRAPH["secagg.protocol.client"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_higher_layer(module: str):
    """Each module imports only its own layer or the layers below."""
    higher = sorted(m for m in GRAPH[module] if _layer(m) > _layer(module))
    assert not higher, f"{module} (layer {_layer(module)}) imports {higher}"


def test_no_import_loop():
    """The module import graph is acyclic."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(u: str) -> None:
        state[u] = 1
        path.append(u)
        for v in sorted(GRAPH[u]):
            if state.get(v) == 1:
                loop = path[path.index(v) :] + [v]
                raise AssertionError("import loop: " + " -> ".join(loop))
            if v not in state:
                visit(v)
        path.pop()
        state[u] = 2

    for u in sorted(GRAPH):
        if u not in state:
            visit(u)


@pytest.mark.parametrize("package", ["paillier", "multiserver"])
def test_paillier_and_multiserver_classes_stay_small(package: str):
    """No class of secagg.paillier or secagg.multiserver exceeds 150 lines (one idea each)."""
    for path in sorted((PACKAGES["secagg"] / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 150, f"{path.name}: class {node.name} has {length} lines"

#!/usr/bin/env bash
# Build the sdist, install it into a clean virtualenv with pycryptodome 3.x
# (the major Flower 1.42 pins) and run the test suite from outside the repo,
# so a module missing from the sdist cannot hide behind the source tree.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
WORK="${SDIST_WORK:-$ROOT/build/sdist}"
rm -rf "$WORK"
mkdir -p "$WORK"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip build
# Run from $WORK: the repository's own build.py would shadow the "build" module.
(cd "$WORK" && "$WORK/venv/bin/python" -m build --sdist --outdir "$WORK/dist" "$ROOT" >/dev/null)
SDIST="$(ls "$WORK"/dist/secagg-*.tar.gz)"
echo "sdist: $SDIST"
# The demo fl/ stays in the repository (README, Install).
if tar tzf "$SDIST" | grep -q '^secagg-[^/]*/fl/'; then
    echo "the sdist ships the demo fl/" >&2
    exit 1
fi
"$WORK/venv/bin/python" -m pip install --quiet "${SDIST}[test]" "pycryptodome>=3.21,<4"
"$WORK/venv/bin/python" -c "import Crypto, secagg._core as c; print('pycryptodome', Crypto.__version__, 'core', c.version())"
# The wheel installs secagg only: no top-level fl (the repository's demo) may
# land in site-packages.
"$WORK/venv/bin/python" - <<'PY'
import os, sysconfig
for key in ("purelib", "platlib"):
    path = os.path.join(sysconfig.get_paths()[key], "fl")
    assert not os.path.exists(path), f"the install put a top-level fl into {path}"
print("no top-level fl in site-packages")
PY
# Run from a directory outside the repository with a copy of what the tests
# read besides the package (tests, docs they check, bench scripts they run)
# and the demo fl/, which is not installed and is tested from the repository
# as it is run from a checkout. secagg itself comes only from the installed
# sdist: the source tree's secagg/ is never copied.
mkdir -p "$WORK/run"
cp -r "$ROOT/tests" "$ROOT/docs" "$ROOT/bench" "$ROOT/fl" "$WORK/run/"
cp "$ROOT/pyproject.toml" "$WORK/run/"
cd "$WORK/run"
# The whole suite, not only the core tests: a module or data file missing from
# the sdist shows up here.
HYPOTHESIS_PROFILE=ci "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q tests
"$WORK/venv/bin/python" -c "import secagg, os; assert 'site-packages' in secagg.__file__, secagg.__file__; print('imported from', os.path.dirname(secagg.__file__))"
"$WORK/venv/bin/python" -c "import fl, os; assert os.path.dirname(os.path.dirname(fl.__file__)) == os.getcwd(), fl.__file__; print('demo fl from', os.path.dirname(fl.__file__))"

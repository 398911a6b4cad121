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
"$WORK/venv/bin/python" -m pip install --quiet "${SDIST}[test]" "pycryptodome>=3.21,<4"
"$WORK/venv/bin/python" -c "import Crypto, secagg._core as c; print('pycryptodome', Crypto.__version__, 'core', c.version())"
# Run from a directory outside the repository with a copy of what the tests
# read besides the package (tests, docs they check, bench scripts they run);
# the package itself comes only from the installed sdist.
mkdir -p "$WORK/run"
cp -r "$ROOT/tests" "$ROOT/docs" "$ROOT/bench" "$WORK/run/"
cp "$ROOT/pyproject.toml" "$WORK/run/"
cd "$WORK/run"
# The whole suite, not only the core tests: a module or data file missing from
# the sdist shows up here.
HYPOTHESIS_PROFILE=ci "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -q tests
"$WORK/venv/bin/python" -c "import secagg, os; assert 'site-packages' in secagg.__file__, secagg.__file__; print('imported from', os.path.dirname(secagg.__file__))"

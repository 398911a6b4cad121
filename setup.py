# cffi has no pyproject configuration; this file passes cffi_modules, tags the
# wheel abi3 and turns a missing C compiler into one sentence.
import shutil

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The compiled module uses only the limited API (cffi builds it with
# py_limited_api, see build.py), so one wheel serves every CPython >= 3.11.
LIMITED_API = "cp311"

NO_COMPILER = (
    "secagg's compiled core must be built from C source, and no C compiler was found "
    "(looked for {cc!r}): install gcc (Debian/Ubuntu: apt-get install gcc; Fedora: "
    "dnf install gcc; Alpine: apk add gcc musl-dev) or set CC, or install a prebuilt "
    "secagg wheel instead."
)


class BuildExt(build_ext):
    """build_ext that checks for the C compiler before calling it."""

    def build_extensions(self) -> None:
        command = getattr(self.compiler, "compiler_so", None)
        if command and shutil.which(command[0]) is None:
            raise SystemExit("error: " + NO_COMPILER.format(cc=command[0]))
        super().build_extensions()


setup(
    cffi_modules=["build.py:ffibuilder"],
    cmdclass={"build_ext": BuildExt},
    options={"bdist_wheel": {"py_limited_api": LIMITED_API}},
)

# cffi has no pyproject configuration; this file exists only to pass cffi_modules.
from setuptools import setup

setup(cffi_modules=["build.py:ffibuilder"])

# make demo  - set everything up and run the main job
# make test  - set everything up and pass the tests
# make test-flower - the Flower adapter's tests, in their own virtualenv with flwr
# The virtualenv is reused while pyproject.toml / setup.py are unchanged (stamp
# files); the compiled core is rebuilt whenever csrc/ or build.py change.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
VPY    := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: all venv build test demo walkthrough sanitize test-c sdist-test bench bench-core lint clean
.PHONY: wheel wheel-test notebook teach test-flower bench-flower

all: test

$(VENV)/.stamp-deps: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip "setuptools>=77"
	$(VPY) -m pip install --quiet -e '.[test,demo]'
	touch $@

venv: $(VENV)/.stamp-deps

# Always asks setuptools, which recompiles only when a source is newer than the
# module (the generated C embeds the source hash, so header edits count too).
# A stamp file here would race with concurrent edits and leave a stale module.
build: $(VENV)/.stamp-deps
	$(VPY) setup.py --quiet build_ext --inplace 2>&1 | { grep -v -e _BetaConfiguration -e 'warnings.warn' || true; }

# A fresh hypothesis seed per run, printed so a failure can be replayed with
# make test HYPOTHESIS_SEED=<seed>.
ifndef HYPOTHESIS_SEED
HYPOTHESIS_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
test: build
	@echo "hypothesis seed: $(HYPOTHESIS_SEED)"
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(VPY) -m pytest --hypothesis-seed=$(HYPOTHESIS_SEED) $(PYTEST_ARGS)

demo: build
	$(VPY) -m fl

walkthrough: build
	$(VPY) -m secagg walkthrough

# AddressSanitizer + UndefinedBehaviorSanitizer: its own copy of the tree and
# its own virtualenv, so it never replaces the normal module.
sanitize:
	bash .ci/sanitize.sh

# Standalone C harness under the sanitizers.
test-c:
	$(MAKE) -C tests/c

# Build the sdist, install it into a clean virtualenv (pycryptodome 3.x, the
# range Flower 1.42 pins) and run the test suite from outside the repository.
sdist-test:
	bash .ci/sdist.sh

# The cp311-abi3 wheel, checked and tagged manylinux by auditwheel, into dist/.
wheel:
	bash .ci/wheel.sh build

# The same, then installed into a clean virtualenv with no C compiler on PATH
# and tested from outside the repository.
wheel-test:
	bash .ci/wheel.sh

# Execute the teaching notebook (nbclient, in the project's virtualenv).
notebook: build
	$(VPY) -m pip install --quiet "nbclient>=0.10" "nbformat>=5.10" "ipykernel>=6.29"
	$(VPY) examples/run_notebook.py examples/threshold_recovery.ipynb

# The teaching lessons with their pictures, into out/teach/.
teach: build
	$(VPY) -m secagg teach shamir --out out/teach
	$(VPY) -m secagg teach robust --out out/teach
	$(VPY) -m secagg teach masking --out out/teach

# The Flower adapter in its own virtualenv: the flower extra plus flwr[simulation]
# (Ray, for the simulation-engine test), so flwr's own pins decide pycryptodome
# (3.x) and cryptography (50.x). Runs tests/flower: the in-process rounds, the
# example in the simulation engine and a deployment on 127.0.0.1.
FLOWER_VENV ?= .venv-flower
FPY := $(FLOWER_VENV)/bin/python

$(FLOWER_VENV)/.stamp-deps: pyproject.toml setup.py
	$(PYTHON) -m venv $(FLOWER_VENV)
	$(FPY) -m pip install --quiet --upgrade pip "setuptools>=77"
	$(FPY) -m pip install --quiet -e '.[flower,test]' 'flwr[simulation]>=1.42,<1.43'
	touch $@

test-flower: $(FLOWER_VENV)/.stamp-deps
	$(FPY) setup.py --quiet build_ext --inplace 2>&1 | { grep -v -e _BetaConfiguration -e 'warnings.warn' || true; }
	$(FPY) -c "import flwr, Crypto, cryptography; print('flwr', flwr.__version__, '| pycryptodome', Crypto.__version__, '| cryptography', cryptography.__version__)"
	HYPOTHESIS_PROFILE=ci $(FPY) -m pytest -p no:cacheprovider --durations=5 tests/flower $(PYTEST_ARGS)

bench-flower: $(FLOWER_VENV)/.stamp-deps
	$(FPY) -m bench.flower

bench: build
	$(VPY) -m pytest bench --benchmark-enable --benchmark-only -p no:cacheprovider

bench-core: build
	$(VPY) -m bench.core

lint: venv
	$(VPY) -m pip install --quiet "ruff==0.17.6" "mypy==2.4.1"
	$(VPY) -m ruff check secagg fl bench tests examples build.py setup.py
	$(VPY) -m ruff format --check secagg fl bench tests examples build.py setup.py
	$(VPY) -m mypy secagg fl

clean:
	rm -rf build dist *.egg-info secagg/_ffi*.so secagg/_ffi.c .stamp-*

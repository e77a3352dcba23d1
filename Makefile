# The two commands a fresh clone needs (see README.md):
#   make run   -- install the program into .venv and start it
#   make test  -- install everything (system packages too, when root) and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run test setup setup-dev system-deps clean

$(VENV)/.runtime-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[train,test]'
	touch $(VENV)/.runtime-installed $@

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

system-deps:
	bash tools/install_system_deps.sh

run: setup
	$(PY) main.py $(ARGS)

# Up to four test processes (pytest-xdist), one test file each at a time, so a file's shared fixtures
# (its batch of tool runs, a virtual microphone) start once: most of the suite waits on real-time audio
# and subprocesses, so two processes on two cores halve it.
test: system-deps setup-dev
	$(PY) -m pytest -n auto --maxprocesses 4 --dist loadfile $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

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

test: system-deps setup-dev
	$(PY) -m pytest $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

# Two set-up commands for a fresh machine: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# One torch thread per process (see README, "How it works").
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: install test demo lint bench clean

install: $(STAMP)

# torch is installed first and pinned (constraints.txt) so pip never resolves the CUDA build;
# mup (the oracle of our tests) goes in with --no-deps, so it cannot drag in torchvision/seaborn.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --no-deps mup==1.0.0
	touch $(STAMP)

lint: install
	$(VENV)/bin/lint-imports

test: install lint
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

demo: install
	$(PY) -m sweeps.demo

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

bench: install
	$(PY) bench/sharpness.py
	$(PY) bench/adaptive.py

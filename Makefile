# Two set-up commands for a fresh machine: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# One torch thread per process (see README, "How it works").
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

DEMO_PORT ?= 8000
DEMO_SERVE ?= 1

.PHONY: install test demo lint bench validate clean browser postgres

install: $(STAMP)

# torch is installed first and pinned (constraints.txt) so pip never resolves the CUDA build;
# mup (the oracle of our tests) goes in with --no-deps, so it cannot drag in torchvision/seaborn.
$(STAMP): pyproject.toml constraints.txt docs/examples/llama_paramz/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --no-deps mup==1.0.0
	$(PY) -m pip install -q --no-deps -e docs/examples/llama_paramz  # the worked plugin package (tests use it)
	touch $(STAMP)

# Import layers (import-linter), lint (ruff) and types (mypy), all configured in pyproject.toml.
lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check paramz sweeps service tests bench
	$(VENV)/bin/mypy

# The dashboards' end-to-end test drives Debian's chromium (never a downloaded browser): installed with
# apt when missing and we are root (CI); elsewhere the browser half of that test is skipped, with a note.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null && echo "installed chromium"; } || \
	  echo "note: no chromium (apt-get install chromium); the dashboards' browser test will be skipped"

postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null && echo "installed postgresql"; } || \
	  echo "note: no PostgreSQL server (apt-get install postgresql); the store's PostgreSQL tests will be skipped"

test: install lint browser postgres
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

# The demo sweep, then the service on its store (Ctrl-C stops it; DEMO_SERVE=0 skips serving).
demo: install
	$(PY) -m sweeps.cli.demo --port $(DEMO_PORT)
	@if [ "$(DEMO_SERVE)" != "0" ]; then $(PY) -m service.cli serve --store sqlite:///out/paramz.db --port $(DEMO_PORT); fi

# The papers' claims reproduced by the tool (width, depth, sharpness, a prediction 4x beyond the swept widths):
# about 45 minutes on 2 cores; writes docs/validation/ (report.md, figures). Resumes from out/validate.db.
validate: install
	$(PY) -m sweeps.cli validate $(VALIDATE_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# The whole-sweep benches (bench/sweep.py: the demo four ways, ~25 min; bench/reads.py: readers under load)
# run with BENCH_SWEEP=1; the others take about 10 minutes in all.
bench: install
	$(PY) bench/sharpness.py
	$(PY) bench/adaptive.py
	$(PY) bench/calibration.py
	$(PY) bench/optimizer.py
	$(PY) bench/stacking.py
	$(PY) bench/probe_share.py
	@if [ "$(BENCH_SWEEP)" = "1" ]; then $(PY) bench/sweep.py && $(PY) bench/reads.py; fi

"""Helpers for sweep tests: small specs, a store in tmp_path, the CLI as a subprocess."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from sweeps import application
from sweeps.domain import TrialResult, TrialState
from sweeps.run import Executor, run_sweep
from sweeps.spec import parse_spec

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_DEDUP_LOGS": "0"}


def small_spec(**overrides):
    data = dict(name="t", model={"family": "mlp"}, task={"name": "teacher"},
                parameterizations=[{"name": "mup"}], base_width=32, widths=[32, 64], depths=[1],
                lr={"values": [1e-3, 1e-2]}, steps=40, batch_size=32, eval_every=20, log_every=5,
                sharpness={"probes": 2, "variants": ["raw"], "max_iter": 10})
    data.update(overrides)
    return data


@pytest.fixture
def spec_file(tmp_path):
    def write(**overrides) -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(small_spec(**overrides)))
        return path
    return write


@pytest.fixture
def make_spec():
    return lambda **overrides: parse_spec(small_spec(**overrides))


def run_spec(spec, store, executor, progress=None) -> str:
    """Launches ``spec`` and runs it to its end (what `paramz sweep run` does); returns the sweep id."""
    launched = application.launch(store, spec)
    run_sweep(store, launched.sweep_id, executor, progress)
    return launched.sweep_id


def cli(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "sweeps.cli", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout, **kw)


DRIFT = {"sp": -1.0, "mup": 0.0}  # octaves of η* per doubling of width


def truth(label: str, width: int) -> float:
    return -8.3 + DRIFT[label] * math.log2(width / 64)


class Synthetic(Executor):
    """loss = 1 + 0.05·(log2 lr − log2 η*)² + seed noise; diverged 3 octaves above η*. Counts every run."""

    def __init__(self, noise: float = 0.0, crash_after: int | None = None) -> None:
        self.noise, self.crash_after, self.runs = noise, crash_after, Counter()

    def run(self, configs, events, should_stop) -> bool:
        for cfg in configs:
            if self.crash_after is not None and sum(self.runs.values()) >= self.crash_after:
                raise RuntimeError("simulated crash of the runner")
            events.started(cfg, "synthetic")
            self.runs[cfg.id] += 1
            x, best = math.log2(cfg.lr), truth(cfg.label, cfg.width)
            noise = self.noise * np.random.default_rng([cfg.seed, int(x * 64) + 4096, cfg.width]).standard_normal()
            diverged = x > best + 3
            loss = None if diverged else 1 + 0.05 * (x - best) ** 2 + noise
            events.finished(cfg, TrialResult(TrialState.DIVERGED if diverged else TrialState.COMPLETED, cfg.steps,
                                             loss, loss, cfg.steps if diverged else None, 0.0, "synthetic"))
        return True

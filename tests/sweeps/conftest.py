"""Helpers for sweep tests: small specs, a store in tmp_path, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


def cli(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "sweeps.cli", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout, **kw)

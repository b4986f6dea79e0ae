"""A model family and a task defined in a script, swept without packaging (`sweeps.application.sweep`)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import torch
from torch import nn

from paramz.models import MODELS, ScalableModel
from sweeps.application import sweep
from sweeps.settings import Settings
from sweeps.spec import TASKS
from tests.sweeps.conftest import ENV, small_spec
from tests.sweeps.toy_plugin import ParityTask

SCRIPT = '''
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paramz.models import ScalableModel
from sweeps.application import sweep
from sweeps.settings import Settings
from sweeps.spec import Task


@dataclass(frozen=True)
class TinyConfig:
    width: int = 32
    depth: int = 2
    d_in: int = 8
    d_out: int = 1


class TinyRes(ScalableModel):
    CONFIG = TinyConfig
    BRANCHES = ("blocks.*",)

    def __init__(self, config):
        super().__init__(config)
        n = config.width
        self.inp = nn.Linear(config.d_in, n)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(n), nn.Linear(n, n), nn.ReLU(), nn.Linear(n, n))
                                    for _ in range(config.depth))
        self.head = nn.Linear(n, config.d_out)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


class SumTask(Task):
    KEYS = {"d_in"}
    DIMS = ("d_in", "d_out")

    def __init__(self, options):
        super().__init__("sum", options)
        self.d_in = options.get("d_in", 8)
        self.model_dims = {"d_in": self.d_in, "d_out": 1}

    def _sample(self, n, seed):
        x = torch.randn(n, self.d_in, generator=torch.Generator().manual_seed(seed))
        return x, x.sum(dim=1, keepdim=True)

    def train_batch(self, step, batch_size, seed):
        return self._sample(batch_size, 1000 * seed + step)

    def eval_batch(self):
        return self._sample(128, 10**9)

    def loss(self, output, target):
        return F.mse_loss(output, target)


spec = dict(name="script", model={"family": "tinyres"}, task={"name": "sum"},
            parameterizations=[{"name": "mup"}, {"name": "completep"}], base_width=32, widths=[32, 64],
            depths=[2], lr={"values": [1e-3, 1e-2]}, steps=30, batch_size=16, sharpness={"probes": 0})
info = sweep(spec, models={"tinyres": TinyRes}, tasks={"sum": SumTask},
             settings=Settings(store=sys.argv[1], executor="ray", workers=2, _env_file=None))
print("status", info.status.value, sorted(info.counts.items()), flush=True)
'''


def test_a_scripts_own_classes_run_on_ray_workers(tmp_path):
    script = tmp_path / "my_experiment.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), f"sqlite:///{tmp_path}/s.db"], env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "status completed [('completed', 8)]" in proc.stdout


@dataclass(frozen=True)
class WideConfig:
    width: int = 32
    depth: int = 1
    d_in: int = 8
    d_out: int = 1


class Wide(ScalableModel):
    CONFIG = WideConfig

    def __init__(self, config):
        super().__init__(config)
        self.inp, self.out = nn.Linear(config.d_in, config.width), nn.Linear(config.width, config.d_out)

    def forward(self, x):
        return self.out(torch.relu(self.inp(x)))


def test_in_process_with_classes_of_this_module(tmp_path):
    saved_models, saved_tasks = dict(MODELS), dict(TASKS)
    try:
        spec = small_spec(model={"family": "wide"}, task={"name": "parity", "options": {"d_in": 4}}, depths=[1],
                          sharpness={"probes": 0})
        info = sweep(spec, models={"wide": Wide}, tasks={"parity": ParityTask},
                     settings=Settings(store=f"sqlite:///{tmp_path}/s.db", executor="local", _env_file=None))
        assert info.status == "completed" and info.counts == {"completed": 4} and info.family == "wide"
    finally:
        MODELS.clear(), MODELS.update(saved_models), TASKS.clear(), TASKS.update(saved_tasks)

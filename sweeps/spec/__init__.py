"""What a sweep is: the spec, the tasks it trains on, the plugins that add tasks and models, one trial's config.

    spec = sweeps.spec.load_spec("sweeps/examples/demo.yaml")    # or parse_spec(dict)
    spec.sweep_id, spec.n_trials
    TrialConfig.of(spec, spec.parameterizations[0], width=256, depth=2, lr=1e-3, seed=0).id
"""

from __future__ import annotations

from sweeps.spec.errors import SpecError, error_lines
from sweeps.spec.plugins import load_plugins, register_model, register_task
from sweeps.spec.sweep import (
                               LimitsSpec,
                               LRGrid,
                               ModelSpec,
                               OptimizerSpec,
                               ParamSpec,
                               SearchSpec,
                               SharpnessSpec,
                               SweepSpec,
                               TaskSpec,
                               load_spec,
                               parse_spec,
                               stored_spec,
)
from sweeps.spec.tasks import TASKS, Task, make_task
from sweeps.spec.trial import TrialConfig

__all__ = ["TASKS", "LRGrid", "LimitsSpec", "ModelSpec", "OptimizerSpec", "ParamSpec", "SearchSpec", "SharpnessSpec",
           "SpecError", "SweepSpec", "Task", "TaskSpec", "TrialConfig", "error_lines", "load_plugins", "load_spec",
           "make_task", "parse_spec", "register_model", "register_task", "stored_spec"]

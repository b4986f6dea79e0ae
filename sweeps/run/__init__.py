"""Running sweeps: one trial's training (`trial`), where trials run (`executors`), the sweep's lease
(`lease`) and the loop that ties a search strategy, an executor and the store together (`engine`).

The names below are imported on first use. A Ray worker imports this package on its way to
`sweeps.run.executors.ray` and runs trials only: loading the engine with it would bring the store,
the search strategies and the analysis (SQLAlchemy, Optuna, pandas, SciPy), about a second of every
worker's start here and memory it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeps.run.engine import Progress, Recorder, run_sweep
    from sweeps.run.executors import Executor, LocalExecutor, RayExecutor, TrialEvents
    from sweeps.run.lease import Lease
    from sweeps.run.trial import probe_steps, run_trial

_HOME = {"Progress": "engine", "Recorder": "engine", "run_sweep": "engine", "Executor": "executors",
         "LocalExecutor": "executors", "RayExecutor": "executors", "TrialEvents": "executors", "Lease": "lease",
         "probe_steps": "trial", "run_trial": "trial"}

__all__ = ["Executor", "Lease", "LocalExecutor", "Progress", "RayExecutor", "Recorder", "TrialEvents", "probe_steps",
           "run_sweep", "run_trial"]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Executors: where trials run. `LocalExecutor` in-process; `RayExecutor` on Ray actors (the default)."""

from __future__ import annotations

from sweeps.run.executors.base import Executor, ShouldStop, TrialEvents
from sweeps.run.executors.local import LocalExecutor
from sweeps.run.executors.ray import RayExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "ShouldStop", "TrialEvents"]

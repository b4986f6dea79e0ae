"""Running sweeps: one trial's training (`trial`), where trials run (`executors`), the sweep's lease
(`lease`) and the loop that ties a search strategy, an executor and the store together (`engine`)."""

from __future__ import annotations

from sweeps.run.engine import Progress, Recorder, run_sweep
from sweeps.run.executors import Executor, LocalExecutor, RayExecutor, TrialEvents
from sweeps.run.lease import Lease
from sweeps.run.trial import probe_steps, run_trial

__all__ = ["Executor", "Lease", "LocalExecutor", "Progress", "RayExecutor", "Recorder", "TrialEvents", "probe_steps",
           "run_sweep", "run_trial"]

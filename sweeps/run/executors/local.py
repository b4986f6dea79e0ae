"""Trials in this process, one after another: unit tests and debugging."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import torch

from sweeps.run.errors import report_failure
from sweeps.run.executors.base import Executor, ShouldStop, TrialEvents
from sweeps.run.trial import run_trial
from sweeps.spec import TrialConfig


class LocalExecutor(Executor):
    """Runs trials in this process, in order, on one torch thread."""

    def run(self, configs: Sequence[TrialConfig], events: TrialEvents, should_stop: ShouldStop) -> bool:
        torch.set_num_threads(1)
        for cfg in configs:
            if should_stop():
                return False
            events.started(cfg, f"local:{os.getpid()}")
            try:
                result = run_trial(cfg, functools.partial(events.progress, cfg))
            except Exception as exc:  # noqa: BLE001 - a crashing trial is recorded, the sweep goes on
                events.failed(cfg, report_failure(cfg.id, exc), False)
                continue
            events.finished(cfg, result)
        return True

"""Trials in this process, one after another: unit tests and debugging.

One slot: sweeps run at once from several threads take turns trial by trial (`SlotPool`), never
two trials at a time in one process.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import torch

from sweeps.run.errors import report_failure
from sweeps.run.executors.base import Executor, ShouldStop, TrialEvents
from sweeps.run.executors.slots import SlotPool
from sweeps.run.trial import run_trial
from sweeps.spec import TrialConfig


class LocalExecutor(Executor):
    """Runs trials in this process, in order, on one torch thread; concurrent sweeps take turns."""

    def __init__(self) -> None:
        self.pool = SlotPool(1)

    def run(self, configs: Sequence[TrialConfig], events: TrialEvents, should_stop: ShouldStop) -> bool:
        torch.set_num_threads(1)
        owner = object()
        try:
            for cfg in configs:
                slot = None
                while slot is None:
                    if should_stop():
                        return False
                    slot = self.pool.acquire(owner, timeout=0.5)
                try:
                    events.started(cfg, f"local:{os.getpid()}")
                    try:
                        result = run_trial(cfg, functools.partial(events.progress, cfg))
                    except Exception as exc:  # noqa: BLE001 - a crashing trial is recorded, the sweep goes on
                        events.failed(cfg, report_failure(cfg.id, exc), False)
                        continue
                    events.finished(cfg, result)
                finally:
                    self.pool.release(owner, slot)
            return True
        finally:
            self.pool.satisfied(owner)

"""The words every layer of `sweeps` shares: the states of sweeps and trials, and a trial's result.

This is the lowest layer of the package (it imports nothing of it). The states are the one source
of truth for the store's columns, the REST schemas, the runner and the dashboards (the service
serves them to the pages as ``/dashboards/states.js``).

The state machines, written down once:

    trial:  pending ─► running ─► completed | diverged       (a result: data for the analysis)
                          │  └──► failed                     (raised, or its worker died too often)
                          └─────► pending                    (its worker died: retried)
            pending | running ─► cancelled                   (the sweep was cancelled)
            failed | cancelled ─► pending                    (the sweep was launched again)

    sweep:  pending ─► running ─► completed                  (every trial completed or diverged)
                          ├─────► failed                     (some trial failed, or the runner did)
                          └─────► cancelling ─► cancelled    (a cancel; running trials are stopped)
            pending ─► cancelled                             (cancelled before any runner took it)
            failed | cancelled ─► pending                    (launched again: failed and cancelled
                                                              trials go back to pending)

A sweep whose trials all failed is ``failed``, never ``completed``: a user sees at once that the
numbers are missing and why (each failed trial keeps a one-line public error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

Metric = tuple[int, str, float]
"""One recorded value: (step, name, value), e.g. ``(100, "eval_loss", 2.31)``."""


class _State(str, Enum):
    """A state whose str() and JSON form are its value (``"completed"``), on every Python version."""

    def __str__(self) -> str:
        return str(self.value)


class TrialState(_State):
    """Where a trial is in its life (see the module docstring)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    DIVERGED = "diverged"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_finished(self) -> bool:
        """Nothing more will happen to it in this run of the sweep."""
        return self in _TRIAL_FINISHED

    def has_result(self) -> bool:
        """It trained to its end or diverged: a data point for the analysis (diverged = +∞ loss)."""
        return self in (TrialState.COMPLETED, TrialState.DIVERGED)


class SweepState(_State):
    """Where a sweep is in its life (see the module docstring)."""

    PENDING = "pending"
    RUNNING = "running"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    def is_finished(self) -> bool:
        """No runner will work on it unless it is launched again."""
        return self in (SweepState.COMPLETED, SweepState.CANCELLED, SweepState.FAILED)

    def is_active(self) -> bool:
        """A runner works on it, or will (pending, running, cancelling)."""
        return not self.is_finished()


_TRIAL_FINISHED = frozenset({TrialState.COMPLETED, TrialState.DIVERGED, TrialState.FAILED, TrialState.CANCELLED})
TRIAL_FINISHED: tuple[TrialState, ...] = tuple(s for s in TrialState if s.is_finished())
SWEEP_ACTIVE: tuple[SweepState, ...] = tuple(s for s in SweepState if s.is_active())
RELAUNCHABLE: tuple[SweepState, ...] = (SweepState.CANCELLED, SweepState.FAILED)

# The columns of a trials DataFrame (`Store.trials_frame`), the input of every analysis function.
TRIAL_COLUMNS: tuple[str, ...] = (
    "sweep_id", "id", "parameterization", "width", "depth", "lr", "seed", "status", "attempts", "error", "worker",
    "diverged_step", "steps_done", "final_train_loss", "final_eval_loss", "seconds", "started_at", "finished_at")


@dataclass
class TrialResult:
    """What a trial that ran to its end (or diverged) returns: status, final numbers and all its metrics.

    Attributes:
        status: ``completed`` or ``diverged``.
        steps_done: optimizer steps taken.
        final_train_loss: the last finite train loss (None if there was none).
        final_eval_loss: the held-out loss at the end (None when diverged).
        diverged_step: the step at which it diverged (None when completed).
        seconds: wall time of the trial.
        worker: ``host:pid`` of the process that ran it.
        metrics: every recorded value, ``(step, name, value)``.
    """

    status: TrialState
    steps_done: int
    final_train_loss: float | None
    final_eval_loss: float | None
    diverged_step: int | None
    seconds: float
    worker: str
    metrics: list[Metric] = field(default_factory=list)

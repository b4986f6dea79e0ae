"""Running a sweep: the loop between a search strategy, an executor and the store.

    with the sweep's lease:
        run the trials left pending (a resume picks up here)
        while the strategy proposes trials: add them to the store, run them
        end the sweep: completed, failed (some trial failed) or cancelled

The engine decides nothing about *which* trials (that is the strategy's, `sweeps.search`) nor
*where* they run (the executor's, `sweeps.run.executors`). Every event is written to the store as
it happens (`Recorder`), so a crash loses at most the trials in flight. Cancellation is a flag in
the store (`Store.request_cancel`) that the recorder polls: running trials are stopped and the rest
marked ``cancelled``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from sweeps.domain import Metric, SweepState, TrialResult, TrialState
from sweeps.run.executors import Executor
from sweeps.run.lease import Lease
from sweeps.search import strategy_for
from sweeps.spec import TrialConfig
from sweeps.store import Store

Progress = Callable[[dict[str, int]], None]
"""Called with the sweep's trial counts by state after every change."""


class Recorder:
    """The `TrialEvents` of one sweep: writes every event to the store and keeps the counts.

    Args:
        store: the store.
        sweep_id: the sweep.
        executor: where its trials run.
        progress: called with the counts by state after every change.
    """

    def __init__(self, store: Store, sweep_id: str, executor: Executor, progress: Progress | None = None,
                 stop: threading.Event | None = None) -> None:
        self.store, self.sweep_id, self.executor, self.on_progress = store, sweep_id, executor, progress
        self.stop = stop or threading.Event()
        self.counts = store.counts(sweep_id)
        self._polled_at, self._cancelling = 0.0, False

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(dict(self.counts))

    def _move(self, old: TrialState, new: TrialState) -> None:
        self.counts[old.value] = self.counts.get(old.value, 0) - 1
        self.counts[new.value] = self.counts.get(new.value, 0) + 1
        self._report()

    def started(self, config: TrialConfig, worker: str) -> None:
        self.store.mark_running(self.sweep_id, config.id, worker)
        self._move(TrialState.PENDING, TrialState.RUNNING)

    def finished(self, config: TrialConfig, result: TrialResult) -> None:
        self.store.finish_trial(self.sweep_id, config.id, result)
        self._move(TrialState.RUNNING, TrialState(result.status))

    def failed(self, config: TrialConfig, error: str, retry: bool) -> None:
        if retry:
            self.store.mark_pending(self.sweep_id, config.id, error)
            self._move(TrialState.RUNNING, TrialState.PENDING)
        else:
            self.store.fail_trial(self.sweep_id, config.id, error)
            self._move(TrialState.RUNNING, TrialState.FAILED)

    def progress(self, config: TrialConfig, records: list[Metric]) -> None:
        self.store.add_live(self.sweep_id, config.id, records)

    def cancelling(self) -> bool:
        """Whether a cancel was requested (one cheap read per half second)."""
        now = time.monotonic()
        if now - self._polled_at > 0.5:
            self._polled_at = now
            self._cancelling = self.store.status(self.sweep_id) is SweepState.CANCELLING
        return self._cancelling

    def add(self, configs: Sequence[TrialConfig]) -> None:
        """Adds trials to the sweep (pending) and to the counts."""
        added = self.store.add_trials(self.sweep_id, configs)
        self.counts[TrialState.PENDING.value] = self.counts.get(TrialState.PENDING.value, 0) + added

    def should_stop(self) -> bool:
        return self.stop.is_set() or self.cancelling()

    def run(self, configs: Sequence[TrialConfig]) -> bool:
        """Runs trials to the end, longest first; False when the sweep was cancelled or the runner stopped
        meanwhile."""
        self._report()
        return self.executor.run(longest_first(configs), self, self.should_stop) and not self.should_stop()


def longest_first(configs: Sequence[TrialConfig]) -> list[TrialConfig]:
    """The trials by estimated cost, largest first (ties in their order): with trials 16× apart in cost
    (widths 256 to 1024), the big ones last would leave workers idle while one finishes them."""
    return sorted(configs, key=lambda c: -(c.width ** 2 * c.depth * c.steps * c.batch_size))


def _end_state(store: Store, sweep_id: str) -> SweepState:
    counts = store.counts(sweep_id)
    if any(n for s, n in counts.items() if not TrialState(s).is_finished()):
        return SweepState.PENDING  # trials left over: the next run picks them up
    return SweepState.FAILED if counts.get(TrialState.FAILED.value) else SweepState.COMPLETED


def run_sweep(store: Store, sweep_id: str, executor: Executor, progress: Progress | None = None,
              stop: threading.Event | None = None) -> SweepState:
    """Runs (or resumes) a sweep to its end, or to its cancellation; returns its final state.

    The run holds the sweep's lease, so a second runner (another CLI, a service) refuses to run it at
    the same time. A finished sweep is left as it is (launch it again to rerun its failed or
    cancelled trials: `sweeps.application.launch`).

    Args:
        store: where the sweep, its trials and metrics live.
        sweep_id: a sweep of the store.
        executor: where its trials run.
        progress: called with the counts by state after every change.
        stop: set it to stop the run early without cancelling (a shutdown): running trials are
            stopped and go back to pending, the sweep is left ``pending`` for the next run.

    Raises:
        SweepBusy: another live runner is running this sweep.
        SweepNotFound: no such sweep.
    """
    strategy = strategy_for(store.spec(sweep_id))
    with Lease(store, sweep_id):
        state = store.status(sweep_id)
        if state.is_finished():
            return state
        if state is SweepState.CANCELLING:  # cancelled before it started, or while its runner was down
            store.cancel_unfinished(sweep_id)
            store.set_status(sweep_id, SweepState.CANCELLED)
            return SweepState.CANCELLED
        store.set_status(sweep_id, SweepState.RUNNING)
        recorder = Recorder(store, sweep_id, executor, progress, stop)
        finished = recorder.run(store.claim_pending(sweep_id))
        while finished:
            proposed = strategy.next_trials(store.trials_frame(sweep_id))
            if not proposed:
                break
            recorder.add(proposed)
            finished = recorder.run(proposed)
        if not finished and recorder.stop.is_set() and store.status(sweep_id) is not SweepState.CANCELLING:
            store.requeue_running(sweep_id)                 # a shutdown: the next run resumes them
            store.set_status(sweep_id, SweepState.PENDING)
            return SweepState.PENDING
        if not finished or store.status(sweep_id) is SweepState.CANCELLING:
            store.cancel_unfinished(sweep_id)
            state = SweepState.CANCELLED
        else:
            state = _end_state(store, sweep_id)
        store.set_status(sweep_id, state)
        return state

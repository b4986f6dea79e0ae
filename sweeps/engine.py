"""A sweep from spec to store: expand, resume, execute, record.

`expand` turns a spec into `TrialConfig`s (width × depth × LR × seed per parameterization), each
with a content-hash id. `run_sweep` creates or resumes the sweep in the store (the sweep id is a
hash of the spec, so rerunning the same spec resumes it), runs every unfinished trial on the
executor and records each result as it arrives; an adaptive sweep then lets its search add and run
trials batch by batch. Cancellation is a flag in the store, checked
between results: running trials are stopped and the rest marked ``cancelled``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sweeps.executors import Executor
from sweeps.spec import ParamSpec, SweepSpec
from sweeps.store import FINISHED, Store, new_owner
from sweeps.trial import TrialConfig, TrialResult

Progress = Callable[[dict[str, int]], None]


def trial_config(spec: SweepSpec, param: ParamSpec, width: int, depth: int, lr: float, seed: int) -> TrialConfig:
    """The config of one trial of ``spec``."""
    return TrialConfig(model=spec.model.family, dims=dict(spec.model.dims), task=spec.task.name,
                       task_options=dict(spec.task.options), parameterization=param.model_dump(exclude_none=True),
                       label=param.label, base_width=spec.base_width, base_depth=spec.resolved_base_depth(),
                       width=width, depth=depth, lr=lr, seed=seed, optimizer=spec.optimizer.model_dump(mode="json"),
                       steps=spec.steps, batch_size=spec.batch_size, eval_every=spec.eval_every,
                       log_every=spec.log_every, divergence_factor=spec.divergence_factor,
                       sharpness=spec.sharpness.model_dump(mode="json"))


def expand(spec: SweepSpec) -> list[TrialConfig]:
    """Every trial of the grid, in a stable order (parameterization, width, depth, LR, seed).

    An adaptive sweep (``spec.search``) starts empty: its search adds trials as it goes.
    """
    if spec.search is not None:
        return []
    return [trial_config(spec, p, w, d, lr, seed) for p in spec.parameterizations for w in spec.widths
            for d in spec.depths for lr in spec.lr.lrs() for seed in spec.seeds]


class Batches:
    """Runs batches of trials of one sweep on an executor, recording every event in the store."""

    def __init__(self, store: Store, sweep_id: str, executor: Executor, progress: Progress | None) -> None:
        self.store, self.sweep_id, self.executor, self.progress = store, sweep_id, executor, progress
        self.counts = store.counts(sweep_id)
        self._poll = [0.0, False]

    def _report(self) -> None:
        if self.progress:
            self.progress(dict(self.counts))

    def _move(self, old: str, new: str) -> None:
        self.counts[old] = self.counts.get(old, 0) - 1
        self.counts[new] = self.counts.get(new, 0) + 1
        self._report()

    def cancelling(self) -> bool:
        now = time.monotonic()
        if now - self._poll[0] > 0.5:  # one cheap read per half second
            self._poll[0], self._poll[1] = now, self.store.sweep_status(self.sweep_id) == "cancelling"
        return self._poll[1]

    def add(self, configs: list[TrialConfig]) -> None:
        """Adds trials to the sweep (pending) and to the counts."""
        added = self.store.add_trials(self.sweep_id, configs)
        self.counts["pending"] = self.counts.get("pending", 0) + added

    def run(self, configs: list[TrialConfig]) -> bool:
        """Runs pending trials to the end; False when the sweep was cancelled meanwhile."""
        store, sweep_id = self.store, self.sweep_id

        def on_start(cfg: TrialConfig, worker: str) -> None:
            store.mark_running(sweep_id, cfg.id, worker)
            self._move("pending", "running")

        def on_done(cfg: TrialConfig, result: TrialResult) -> None:
            store.finish_trial(sweep_id, cfg.id, result)
            self._move("running", result.status)

        def on_fail(cfg: TrialConfig, error: str, retry: bool) -> None:
            if retry:
                store.mark_pending(sweep_id, cfg.id, error)
                self._move("running", "pending")
            else:
                store.fail_trial(sweep_id, cfg.id, error)
                self._move("running", "failed")

        def on_progress(cfg: TrialConfig, records: list[tuple[int, str, float]]) -> None:
            store.add_live(sweep_id, cfg.id, records)

        self._report()
        return (self.executor.run(configs, on_start, on_done, on_fail, self.cancelling, on_progress=on_progress)
                and not self.cancelling())


class _Lease:
    """Holds a sweep's lease for the duration of a run, with a heartbeat thread (any executor)."""

    def __init__(self, store: Store, sweep_id: str, every: float = 5.0) -> None:
        self.store, self.sweep_id, self.every = store, sweep_id, every
        self.owner = new_owner()
        self._stop = threading.Event()

    def __enter__(self) -> _Lease:
        self.store.acquire(self.sweep_id, self.owner)
        threading.Thread(target=self._beat, name=f"lease-{self.sweep_id}", daemon=True).start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self.store.heartbeat(self.sweep_id, self.owner)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.store.release(self.sweep_id, self.owner)


def run_sweep(spec: SweepSpec, store: Store, executor: Executor, progress: Progress | None = None,
              sweep_id: str | None = None) -> str:
    """Runs (or resumes) a sweep to completion or cancellation; returns its id.

    A grid sweep runs every trial of `expand`; an adaptive one (``spec.search``) lets
    `sweeps.adaptive.search` choose its trials, batch by batch, from what the store holds. The run
    holds the sweep's lease in the store, so a second runner (another CLI, a service) refuses to
    run it at the same time.

    Args:
        spec: the validated spec.
        store: where sweeps, trials and metrics live.
        executor: `RayExecutor` or `LocalExecutor`.
        progress: called with the counts by status after every change.
        sweep_id: an existing sweep to resume (must match the spec's id).

    Raises:
        SweepBusy: another live runner is running this sweep.
    """
    sweep_id = store.ensure_sweep(spec, expand(spec)) if sweep_id is None else sweep_id
    status = store.sweep_status(sweep_id)
    if status in ("completed", "cancelled"):
        return sweep_id
    with _Lease(store, sweep_id):
        if status == "cancelling":  # cancelled before it started (or while its runner was down)
            store.cancel_unfinished(sweep_id)
            store.set_sweep_status(sweep_id, "cancelled")
            return sweep_id
        pending = store.claim_pending(sweep_id)
        store.set_sweep_status(sweep_id, "running")
        batches = Batches(store, sweep_id, executor, progress)
        finished = batches.run(pending)
        if finished and spec.search is not None:
            from sweeps.adaptive import search  # adaptive builds on this module's Batches and trial_config
            finished = search(spec, store, sweep_id, batches)
        if not finished or store.sweep_status(sweep_id) == "cancelling":
            store.cancel_unfinished(sweep_id)
            store.set_sweep_status(sweep_id, "cancelled")
        else:
            left = sum(n for s, n in store.counts(sweep_id).items() if s not in FINISHED)
            store.set_sweep_status(sweep_id, "completed" if left == 0 else "pending")
    return sweep_id

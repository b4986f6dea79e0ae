"""A sweep from spec to store: expand, resume, execute, record.

`expand` turns a spec into `TrialConfig`s (width × depth × LR × seed per parameterization), each
with a content-hash id. `run_sweep` creates or resumes the sweep in the store (the sweep id is a
hash of the spec, so rerunning the same spec resumes it), runs every unfinished trial on the
executor and records each result as it arrives. Cancellation is a flag in the store, checked
between results: running trials are stopped and the rest marked ``cancelled``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sweeps.executors import Executor
from sweeps.spec import SweepSpec
from sweeps.store import FINISHED, Store
from sweeps.trial import TrialConfig, TrialResult

Progress = Callable[[dict[str, int]], None]


def expand(spec: SweepSpec) -> list[TrialConfig]:
    """Every trial of the grid, in a stable order (parameterization, width, depth, LR, seed)."""
    base_depth = spec.resolved_base_depth()
    return [
        TrialConfig(model=spec.model.family, dims=dict(spec.model.dims), task=spec.task.name,
                    task_options=dict(spec.task.options), parameterization=p.model_dump(exclude_none=True),
                    label=p.label, base_width=spec.base_width, base_depth=base_depth, width=w, depth=d, lr=lr,
                    seed=seed, optimizer=spec.optimizer.model_dump(mode="json"), steps=spec.steps,
                    batch_size=spec.batch_size, eval_every=spec.eval_every, log_every=spec.log_every,
                    divergence_factor=spec.divergence_factor, sharpness=spec.sharpness.model_dump(mode="json"))
        for p in spec.parameterizations for w in spec.widths for d in spec.depths
        for lr in spec.lr.lrs() for seed in spec.seeds
    ]


def run_sweep(spec: SweepSpec, store: Store, executor: Executor, progress: Progress | None = None,
              sweep_id: str | None = None) -> str:
    """Runs (or resumes) a sweep to completion or cancellation; returns its id.

    Args:
        spec: the validated spec.
        store: where sweeps, trials and metrics live.
        executor: `RayExecutor` or `LocalExecutor`.
        progress: called with the counts by status after every change.
        sweep_id: an existing sweep to resume (must match the spec's id).
    """
    sweep_id = store.ensure_sweep(spec, expand(spec)) if sweep_id is None else sweep_id
    if store.sweep_status(sweep_id) in ("completed", "cancelled"):
        return sweep_id
    pending = store.claim_pending(sweep_id)
    store.set_sweep_status(sweep_id, "running")
    counts = store.counts(sweep_id)
    last_poll = [0.0, False]

    def report() -> None:
        if progress:
            progress(dict(counts))

    def move(old: str, new: str) -> None:
        counts[old] = counts.get(old, 0) - 1
        counts[new] = counts.get(new, 0) + 1
        report()

    def on_start(cfg: TrialConfig, worker: str) -> None:
        store.mark_running(sweep_id, cfg.id, worker)
        move("pending", "running")

    def on_done(cfg: TrialConfig, result: TrialResult) -> None:
        store.finish_trial(sweep_id, cfg.id, result)
        move("running", result.status)

    def on_fail(cfg: TrialConfig, error: str, retry: bool) -> None:
        if retry:
            store.mark_pending(sweep_id, cfg.id, error)
            move("running", "pending")
        else:
            store.fail_trial(sweep_id, cfg.id, error)
            move("running", "failed")

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last_poll[0] > 0.5:  # one cheap read per half second
            last_poll[0], last_poll[1] = now, store.sweep_status(sweep_id) == "cancelling"
        return last_poll[1]

    report()
    finished = executor.run(pending, on_start, on_done, on_fail, should_stop)
    if not finished or store.sweep_status(sweep_id) == "cancelling":
        store.cancel_unfinished(sweep_id)
        store.set_sweep_status(sweep_id, "cancelled")
    else:
        left = sum(n for s, n in store.counts(sweep_id).items() if s not in FINISHED)
        store.set_sweep_status(sweep_id, "completed" if left == 0 else "pending")
    return sweep_id

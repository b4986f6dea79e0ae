"""Executors run trial configs and report back; the engine owns the store.

One small interface, two implementations:
  * `LocalExecutor` runs trials in this process, one after another (unit tests, debugging);
  * `RayExecutor` keeps long-lived actors, one per CPU with one torch thread each, so torch is
    imported once per worker (a fresh process per trial costs ~3.5 s here), and dispatches a trial
    to whichever actor is free. A worker that dies mid-trial is replaced and the trial retried, at
    most ``max_retries`` times; then the trial is ``failed`` with the error kept.
    ``ray.init(address="local")`` on one machine (never attaching to someone else's Ray), or a
    cluster address (``--ray-address`` / ``RAY_ADDRESS``).
"""

from __future__ import annotations

import os
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from sweeps.trial import TrialConfig, TrialResult, run_trial

OnStart = Callable[[TrialConfig, str], None]
OnDone = Callable[[TrialConfig, TrialResult], None]
OnFail = Callable[[TrialConfig, str, bool], None]  # (config, error, will_retry)
OnProgress = Callable[[TrialConfig, list[tuple[int, str, float]]], None]  # metrics of a running trial
ShouldStop = Callable[[], bool]


class Executor(ABC):
    """Runs trials; calls back on start, success and failure; stops early when asked."""

    @abstractmethod
    def run(self, configs: Sequence[TrialConfig], on_start: OnStart, on_done: OnDone, on_fail: OnFail,
            should_stop: ShouldStop, on_progress: OnProgress | None = None) -> bool:
        """Runs ``configs``; returns False if it stopped early because ``should_stop()`` said so.

        ``on_progress``, when given, receives the new metrics of running trials every few seconds.
        """

    def close(self) -> None:
        """Releases workers (no-op by default)."""


class LocalExecutor(Executor):
    """Runs trials in this process, in order."""

    def run(self, configs, on_start, on_done, on_fail, should_stop, on_progress=None) -> bool:
        import torch
        torch.set_num_threads(1)
        for cfg in configs:
            if should_stop():
                return False
            on_start(cfg, f"local:{os.getpid()}")
            report = (lambda records, cfg=cfg: on_progress(cfg, records)) if on_progress else None
            try:
                result = run_trial(cfg, report)
            except Exception:  # noqa: BLE001 - a crashing trial is recorded, the sweep goes on
                on_fail(cfg, traceback.format_exc(), False)
                continue
            on_done(cfg, result)
        return True


class RayExecutor(Executor):
    """Trials on long-lived Ray actors (see the module docstring).

    Args:
        workers: number of actors (default: the cluster's CPUs).
        address: Ray address; None → ``RAY_ADDRESS`` or a new local instance.
        max_retries: retries of a trial whose worker died.
    """

    def __init__(self, workers: int | None = None, address: str | None = None, max_retries: int = 2) -> None:
        import ray

        self.ray = ray
        address = address or os.environ.get("RAY_ADDRESS") or "local"
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            kwargs = {"num_cpus": workers} if address == "local" and workers else {}
            # one thread per worker: a local raylet inherits these; actors also call set_num_threads(1)
            # (a runtime_env with env_vars would do it too, at ~5 s more start-up here)
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(var, "1")
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **kwargs)
        self.n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.max_retries = max_retries
        self.actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self.actors = self._spawn(self.n_workers)
        from ray.util.queue import Queue
        self.live = Queue(actor_options={"num_cpus": 0})  # running trials' metrics, worker → driver

    def _spawn(self, n: int) -> list[tuple[object, str]]:
        """Starts ``n`` actors at once (each imports torch: seconds) and waits for all of them."""
        actors = [self.actor_cls.remote() for _ in range(n)]
        return list(zip(actors, self.ray.get([a.where.remote() for a in actors])))

    def _drain(self, running: dict, on_progress: OnProgress | None) -> None:
        if on_progress is None or self.live.empty():
            return
        by_id = {cfg.id: cfg for _, cfg in running.values()}
        for trial_id, records in self.live.get_nowait_batch(self.live.qsize()):
            if trial_id in by_id:  # a finished trial's last report may arrive after its result: dropped
                on_progress(by_id[trial_id], records)

    def run(self, configs, on_start, on_done, on_fail, should_stop, on_progress=None) -> bool:
        ray = self.ray
        queue = list(configs)
        tries: dict[str, int] = {}
        free = list(range(len(self.actors)))
        running: dict[object, tuple[int, TrialConfig]] = {}
        while queue or running:
            if should_stop():
                killed = [slot for slot, _ in running.values()]  # stop running trials now
                for slot in killed:
                    ray.kill(self.actors[slot][0], no_restart=True)
                # replace exactly the killed actors: idle ones keep their CPU, and a new actor
                # spawned beside them would wait for a CPU they hold
                for slot, fresh in zip(killed, self._spawn(len(killed))):
                    self.actors[slot] = fresh
                return False
            while queue and free:
                slot, cfg = free.pop(), queue.pop(0)
                actor, where = self.actors[slot]
                on_start(cfg, where)
                running[actor.run.remote(cfg, self.live if on_progress else None)] = (slot, cfg)
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            self._drain(running, on_progress)
            for ref in done:
                slot, cfg = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # the worker process died
                    tries[cfg.id] = tries.get(cfg.id, 0) + 1
                    retry = tries[cfg.id] <= self.max_retries
                    on_fail(cfg, f"worker died: {exc}", retry)
                    self.actors[slot] = self._spawn(1)[0]
                    if retry:
                        queue.insert(0, cfg)
                except ray.exceptions.RayTaskError as exc:  # the trial raised
                    on_fail(cfg, str(exc), False)
                else:
                    on_done(cfg, result)
                free.append(slot)
        return True

    def close(self) -> None:
        for actor, _ in self.actors:
            self.ray.kill(actor)
        self.actors = []
        self.live.shutdown()
        if self.owns_ray:
            self.ray.shutdown()


class _Worker:
    """A Ray actor: one torch thread, torch imported once, trials run one at a time."""

    def __init__(self) -> None:
        import torch

        from sweeps.plugins import load_plugins, plugin_allowlist
        torch.set_num_threads(1)
        load_plugins(plugin_allowlist())  # tasks/models of installed packages, as in the driver

    def where(self) -> str:
        import socket
        return f"{socket.gethostname()}:{os.getpid()}"

    def run(self, cfg: TrialConfig, live=None) -> TrialResult:
        report = (lambda records: live.put_nowait((cfg.id, records))) if live is not None else None
        return run_trial(cfg, report)

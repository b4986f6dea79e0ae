"""Trials on long-lived Ray actors, one per CPU with one torch thread each.

Torch is imported once per worker (a fresh process per trial costs ~3.5 s here), and a trial goes to
whichever actor is free. Several sweeps may run at once from their own threads on the same actors:
they share the slots fairly (`SlotPool`), and each running trial's metrics go to its own sweep. A
worker that dies mid-trial is replaced and the trial retried, at most ``max_retries`` times; then
the trial is ``failed`` with the error kept. On one machine the executor starts its own Ray
(``ray.init(address="local")``: never attaching to someone else's); given an address it joins that
cluster. Running trials stream their new metrics to the driver through a
``ray.util.queue.Queue``.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sweeps.run.errors import report_failure
from sweeps.run.executors.base import Executor, ShouldStop, TrialEvents
from sweeps.run.executors.slots import SlotPool
from sweeps.run.trial import run_trial
from sweeps.spec import TrialConfig, load_plugins, register_model, register_task

Registered = Mapping[str, Mapping[str, type]]


def reap_orphans() -> list[int]:
    """Kills this user's Ray workers whose raylet is dead, and returns their pids.

    A runner killed with -9 takes its raylet with it (same process group) but not its workers (Ray
    gives each its own): they go on with the interrupted trial for ~10 s before they notice. A
    restarted runner would run that trial again beside them, so it reaps them first. Such a worker
    can do nothing useful: without its raylet it reaches no one. Linux only (it reads /proc).
    """
    reaped: list[int] = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return reaped
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid != os.getuid():
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            raylet = env.get(b"RAY_RAYLET_PID")
            if raylet is None or not raylet.isdigit() or _alive(int(raylet)):
                continue
            os.kill(pid, signal.SIGKILL)
            reaped.append(pid)
        except (OSError, ValueError):
            continue
    return reaped


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class RayExecutor(Executor):
    """Trials on long-lived Ray actors (see the module docstring).

    Args:
        workers: number of actors (default: the cluster's CPUs).
        address: a Ray cluster's address; None starts a local Ray.
        max_retries: retries of a trial whose worker died.
        plugins: the plugin allowlist each worker loads (None: every installed plugin).
        registered: model families and tasks registered in this process by code (a script's own
            classes, see `sweeps.application.sweep`), ``{"models": {name: cls}, "tasks": {...}}``;
            each worker registers them too (Ray ships a script's classes by value).
    """

    def __init__(self, workers: int | None = None, address: str | None = None, max_retries: int = 2,
                 plugins: list[str] | None = None, registered: Registered | None = None) -> None:
        import ray

        self.ray = ray
        address = address or "local"
        self.plugins = plugins
        self.registered = registered or {}
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            kwargs: dict[str, Any] = {"num_cpus": workers} if address == "local" and workers else {}
            # one thread per worker: a local raylet inherits these; actors also call set_num_threads(1)
            # (a runtime_env with env_vars would do it too, at ~5 s more start-up here)
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(var, "1")
            if address == "local":
                reap_orphans()
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **kwargs)
        self.n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.max_retries = max_retries
        self.actor_cls: Any = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self.actors = self._spawn(self.n_workers)
        self.pool = SlotPool(self.n_workers)
        self._listeners: dict[str, tuple[TrialConfig, TrialEvents]] = {}   # running trial id → its sweep's events
        self._lock = threading.Lock()
        from ray.util.queue import Queue
        self.live = Queue(actor_options={"num_cpus": 0})  # running trials' metrics, worker → driver

    def _spawn(self, n: int) -> list[tuple[Any, str]]:
        """Starts ``n`` actors at once (each imports torch: seconds) and waits for all of them."""
        actors = [self.actor_cls.remote(self.plugins, self.registered) for _ in range(n)]
        return list(zip(actors, self.ray.get([a.where.remote() for a in actors])))

    def _drain(self) -> None:
        """Hands the running trials' streamed metrics to their sweeps (whichever sweep's thread drains)."""
        with self._lock:
            if self.live.empty():
                return
            batch = self.live.get_nowait_batch(self.live.qsize())
            routed = [(self._listeners[trial_id], records) for trial_id, records in batch
                      if trial_id in self._listeners]
        for (cfg, events), records in routed:  # a finished trial's last report may arrive after its result: dropped
            events.progress(cfg, records)

    def run(self, configs: Sequence[TrialConfig], events: TrialEvents, should_stop: ShouldStop) -> bool:
        ray = self.ray
        owner = object()
        queue = list(configs)
        tries: dict[str, int] = {}
        running: dict[Any, tuple[int, TrialConfig]] = {}

        def settle(slot: int, cfg: TrialConfig) -> None:
            with self._lock:
                self._listeners.pop(cfg.id, None)
            self.pool.release(owner, slot)

        try:
            while queue or running:
                if should_stop():
                    killed = [slot for slot, _ in running.values()]  # stop this sweep's running trials now
                    for slot in killed:
                        ray.kill(self.actors[slot][0], no_restart=True)
                    # replace exactly the killed actors: idle ones keep their CPU, and a new actor
                    # spawned beside them would wait for a CPU they hold
                    for slot, fresh in zip(killed, self._spawn(len(killed))):
                        self.actors[slot] = fresh
                    for slot, cfg in running.values():
                        settle(slot, cfg)
                    return False
                while queue:
                    granted = self.pool.try_acquire(owner)
                    if granted is None:
                        break
                    cfg = queue.pop(0)
                    actor, where = self.actors[granted]
                    events.started(cfg, where)
                    with self._lock:
                        self._listeners[cfg.id] = (cfg, events)
                    running[actor.run.remote(cfg, self.live)] = (granted, cfg)
                if not queue:
                    self.pool.satisfied(owner)
                if running:
                    done, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
                else:
                    done = []
                    time.sleep(0.1)  # every slot is another sweep's: wait for our turn
                self._drain()
                for ref in done:
                    slot, cfg = running.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayActorError as exc:  # the worker process died
                        tries[cfg.id] = tries.get(cfg.id, 0) + 1
                        retry = tries[cfg.id] <= self.max_retries
                        report_failure(cfg.id, exc)
                        events.failed(cfg, "worker died: its process exited while running the trial"
                                           + (" (retrying)" if retry else f" ({tries[cfg.id]} times; not retried)"),
                                      retry)
                        self.actors[slot] = self._spawn(1)[0]
                        if retry:
                            queue.insert(0, cfg)
                            self.pool.want(owner)
                    except ray.exceptions.RayTaskError as exc:  # the trial raised
                        events.failed(cfg, report_failure(cfg.id, exc), False)
                    else:
                        events.finished(cfg, result)
                    settle(slot, cfg)
            return True
        finally:
            self.pool.satisfied(owner)

    def close(self) -> None:
        for actor, _ in self.actors:
            self.ray.kill(actor)
        self.actors = []
        self.live.shutdown(force=True)   # the trials are over and drained: no need to wait for a graceful exit
        if self.owns_ray:
            self.ray.shutdown()


class _Worker:
    """A Ray actor: one torch thread, torch imported once, trials run one at a time."""

    def __init__(self, plugins: list[str] | None, registered: Registered) -> None:
        import torch

        torch.set_num_threads(1)
        load_plugins(plugins)  # tasks/models of installed packages, the driver's allowlist
        for name, cls in registered.get("models", {}).items():
            register_model(name, cls)
        for name, cls in registered.get("tasks", {}).items():
            register_task(name, cls)
        # What is loaded now lives as long as the worker: frozen, the collector stops walking its ~200k
        # objects in every full collection (0.1 s each here, landing at random inside a trial).
        gc.collect()
        gc.freeze()

    def where(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def run(self, cfg: TrialConfig, live: Any) -> Any:
        return run_trial(cfg, lambda records: live.put_nowait((cfg.id, records)))

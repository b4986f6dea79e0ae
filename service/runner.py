"""The background runner: sweeps execute outside the request path, up to ``max_active_sweeps`` at once.

One executor (Ray actors by default, created once and kept) is shared by ``max_active_sweeps``
threads, each taking sweep ids from one queue in launch order; the executor shares its workers
fairly between the sweeps in flight (`sweeps.run.executors.slots`), so a small sweep launched
behind a big one starts on the next free worker instead of after it. A request only writes the
sweep to the store and queues its id, so a request never waits on training.

Durability comes from the store, not from the runner: on start it queues every active sweep
(pending, running, cancelling: a sweep was running when the process died, however it died), and
`sweeps.application.run` resumes it: finished trials are kept, trials left running are rerun. A
sweep whose lease another live runner holds (a CLI run on the same store) is left to it and looked
at again every ``retry_after`` seconds. Cancellation is the store's flag, which the engine polls. On
shutdown the thread is abandoned mid-sweep on purpose: the sweep stays ``running`` and resumes on
the next start, the same path as a kill -9.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading

from sweeps import application
from sweeps.domain import SweepState
from sweeps.run import Executor
from sweeps.settings import Settings
from sweeps.store import Store, SweepBusy

log = logging.getLogger("paramz.runner")


class Runner:
    """Runs queued sweeps on one shared executor in ``settings.max_active_sweeps`` daemon threads.

    Args:
        store: the service's store.
        settings: executor kind, Ray address and workers.
        retry_after: seconds before looking again at a sweep another runner holds.
    """

    def __init__(self, store: Store, settings: Settings, retry_after: float = 30.0) -> None:
        self.store, self.settings, self.retry_after = store, settings, retry_after
        self._queue: queue.Queue[str] = queue.Queue()
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._in_flight: dict[str, None] = {}          # sweep ids being run, in start order
        self._lock = threading.Lock()

    @property
    def current(self) -> str | None:
        """The oldest sweep in flight (None when idle)."""
        with self._lock:
            return next(iter(self._in_flight), None)

    @property
    def in_flight(self) -> list[str]:
        """Every sweep being run now, oldest first."""
        with self._lock:
            return list(self._in_flight)

    def prepare(self) -> None:
        """Starts the executor (Ray) now, from the main thread, and gives the process its own SIGTERM
        and SIGINT handling back: Ray's native failure handler would otherwise catch SIGTERM, print a
        stack dump and abort the process 3 s later, in the middle of a clean shutdown."""
        if self._executor is not None:
            return
        main = threading.current_thread() is threading.main_thread()
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
        self._executor = application.make_executor(self.settings)
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    def start(self) -> list[str]:
        """Starts the thread and queues every active sweep (resume); returns their ids."""
        resumed = self.store.active_sweep_ids()
        for sweep_id in resumed:
            self._queue.put(sweep_id)
        self._threads = [threading.Thread(target=self._loop, name=f"paramz-runner-{i}", daemon=True)
                         for i in range(max(1, self.settings.max_active_sweeps))]
        for thread in self._threads:
            thread.start()
        if resumed:
            log.info("resuming %d unfinished sweeps: %s", len(resumed), ", ".join(resumed))
        return resumed

    def submit(self, sweep_id: str) -> None:
        """Queues a sweep to run."""
        self._queue.put(sweep_id)

    def stop(self, timeout: float = 60.0) -> None:
        """Stops: no new sweep is taken, the one in flight stops its running trials (they go back to
        pending and the sweep resumes on the next start), its lease is released, and the executor (Ray)
        is shut down, so no worker process outlives the service."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def _executor_now(self) -> Executor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = application.make_executor(self.settings)
            return self._executor

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sweep_id = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._lock:
                if sweep_id in self._in_flight:   # queued twice (launched again while it runs): one run is enough
                    continue
                self._in_flight[sweep_id] = None
            try:
                application.run(self.store, sweep_id, self._executor_now(), stop=self._stop)
            except SweepBusy as exc:  # another runner (a CLI, another service) has it: look again later
                log.info("%s; retrying in %.0f s", exc, self.retry_after)
                timer = threading.Timer(self.retry_after, self.submit, [sweep_id])
                timer.daemon = True
                timer.start()
            except Exception:  # noqa: BLE001 - a runner failure must not kill the service; the sweep says so
                log.exception("sweep %s failed in the runner", sweep_id)
                self.store.set_status(sweep_id, SweepState.FAILED)
            finally:
                with self._lock:
                    self._in_flight.pop(sweep_id, None)

"""The background runner: sweeps execute outside the request path, one at a time, in launch order.

One thread owns one executor (Ray actors by default, created on the first sweep and kept for the
next ones) and takes sweep ids from a queue. A request only writes the sweep to the store and
queues its id, so a request never waits on training.

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
    """Runs queued sweeps on one executor in a daemon thread.

    Args:
        store: the service's store.
        settings: executor kind, Ray address and workers.
        retry_after: seconds before looking again at a sweep another runner holds.
    """

    def __init__(self, store: Store, settings: Settings, retry_after: float = 30.0) -> None:
        self.store, self.settings, self.retry_after = store, settings, retry_after
        self._queue: queue.Queue[str] = queue.Queue()
        self._executor: Executor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.current: str | None = None

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
        self._thread = threading.Thread(target=self._loop, name="paramz-runner", daemon=True)
        self._thread.start()
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
        if self._thread is not None:
            self._thread.join(timeout)
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sweep_id = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.current = sweep_id
            try:
                if self._executor is None:
                    self._executor = application.make_executor(self.settings)
                application.run(self.store, sweep_id, self._executor, stop=self._stop)
            except SweepBusy as exc:  # another runner (a CLI, another service) has it: look again later
                log.info("%s; retrying in %.0f s", exc, self.retry_after)
                timer = threading.Timer(self.retry_after, self.submit, [sweep_id])
                timer.daemon = True
                timer.start()
            except Exception:  # noqa: BLE001 - a runner failure must not kill the service; the sweep says so
                log.exception("sweep %s failed in the runner", sweep_id)
                self.store.set_status(sweep_id, SweepState.FAILED)
            finally:
                self.current = None

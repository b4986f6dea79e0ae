"""The application layer: what the CLI and the REST service do with sweeps, written once.

Both front ends call these functions and only render their results, so a sweep behaves the same
whichever way it was launched:

    launch(store, spec)          create it, or find it (same spec → same id), and make it runnable
    run(store, sweep_id, ex)     run or resume it to its end on an executor (the CLI; the service's runner)
    cancel(store, sweep_id)      stop it
    report(store, sweep_id)      the transfer analysis, as a typed `TransferReport`
    make_executor(settings)      the executor the settings ask for

Launching again (`launch` on a spec whose sweep exists), the one documented behaviour:

    =========================  ===================================================================
    the sweep is               launch ...
    =========================  ===================================================================
    new                        creates it with its first trials (one transaction), ``pending``
    pending, running           leaves it as it is (its runner goes on; a CLI run joins if none)
    cancelling                 leaves it as it is; launch again once it is ``cancelled``
    cancelled, failed          reopens it: its cancelled and failed trials go back to ``pending``,
                               finished ones are kept; then it runs like a resumed sweep
    completed                  leaves it as it is: nothing is left to run
    =========================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from paramz.errors import ConfigError
from sweeps.analysis import TransferReport, transfer_report
from sweeps.domain import RELAUNCHABLE, SWEEP_ACTIVE, SweepState
from sweeps.run import Executor, LocalExecutor, Progress, RayExecutor, run_sweep
from sweeps.search import strategy_for
from sweeps.settings import Settings
from sweeps.spec import LimitsSpec, SpecError, SweepSpec
from sweeps.store import Store


class TooManySweeps(ConfigError):
    """Launching would exceed the bound on active sweeps (a temporary refusal: retry later)."""


@dataclass(frozen=True)
class Launched:
    """The result of `launch`.

    Attributes:
        sweep_id: the sweep (a hash of the spec).
        status: its state after the launch.
        n_trials: its trials so far.
        created: it was new.
        reopened: it was cancelled or failed and is runnable again.
    """

    sweep_id: str
    status: SweepState
    n_trials: int
    created: bool
    reopened: bool

    @property
    def runnable(self) -> bool:
        """A runner has work to do on it."""
        return self.status in (SweepState.PENDING, SweepState.RUNNING)


def launch(store: Store, spec: SweepSpec, *, limits: LimitsSpec | None = None,
           max_active: int | None = None) -> Launched:
    """Creates the sweep of ``spec`` or finds it, and makes it runnable (see the module docstring).

    Args:
        store: the store.
        spec: the validated spec.
        limits: bounds to enforce besides the spec's own (a server's), whatever the spec says.
        max_active: refuse to add an active sweep when this many are pending, running or cancelling.

    Raises:
        SpecError: the spec exceeds ``limits`` (each bound named).
        TooManySweeps: ``max_active`` active sweeps already.
    """
    if limits is not None:
        over = spec.over_limits(limits)
        if over:
            raise SpecError("; ".join(over))
    sweep_id = spec.sweep_id
    status = store.status_or_none(sweep_id)
    if max_active is not None and (status is None or not status.is_active()):
        active = store.n_sweeps(status=SWEEP_ACTIVE)
        if active >= max_active:
            raise TooManySweeps(f"max_active_sweeps: {active} sweeps are pending or running, the bound is "
                                f"{max_active}; wait for one to finish or cancel one")
    created = status is None and store.create_sweep(spec, strategy_for(spec).first_trials())
    reopened = store.status(sweep_id) in RELAUNCHABLE
    if reopened:
        store.reopen(sweep_id)
    info = store.sweep(sweep_id)
    return Launched(sweep_id, info.status, info.n_trials, created, reopened)


def run(store: Store, sweep_id: str, executor: Executor, progress: Progress | None = None) -> SweepState:
    """Runs or resumes a sweep to its end on ``executor``; returns its final state.

    Raises:
        SweepBusy: another live runner holds it.
        SweepNotFound: no such sweep.
    """
    return run_sweep(store, sweep_id, executor, progress)


def cancel(store: Store, sweep_id: str) -> SweepState:
    """Cancels a sweep: through its runner when a live one holds it (it stops running trials), here
    otherwise; returns the state (``cancelling`` while its runner stops it). A finished sweep is left as it is.

    Raises:
        SweepNotFound: no such sweep.
    """
    store.request_cancel(sweep_id)
    if store.status(sweep_id) is SweepState.CANCELLING and not store.held(sweep_id):  # nobody polls the flag
        store.cancel_unfinished(sweep_id)
        store.set_status(sweep_id, SweepState.CANCELLED)
    return store.status(sweep_id)


def report(store: Store, sweep_id: str, *, tolerance: float = 0.5, width: int | None = None,
           depth: int | None = None) -> TransferReport:
    """The transfer analysis of a sweep (optima, law, verdicts; a prediction at ``width``/``depth``).

    Raises:
        SweepNotFound: no such sweep.
    """
    spec = store.spec(sweep_id)
    return transfer_report(store.trials_frame(sweep_id), base_width=spec.base_width,
                           base_depth=spec.resolved_base_depth(), tolerance=tolerance, width=width, depth=depth)


def make_executor(settings: Settings) -> Executor:
    """The executor the settings ask for: Ray actors (default) or in-process."""
    if settings.executor == "local":
        return LocalExecutor()
    return RayExecutor(workers=settings.workers, address=settings.ray_address, plugins=settings.plugins)

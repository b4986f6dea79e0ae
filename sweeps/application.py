"""The application layer: what the CLI and the REST service do with sweeps, written once.

Both front ends call these functions and only render their results, so a sweep behaves the same
whichever way it was launched:

    launch(store, spec)          create it, or find it (same spec → same id), and make it runnable
    run(store, sweep_id, ex)     run or resume it to its end on an executor (the CLI; the service's runner)
    cancel(store, sweep_id)      stop it
    report(store, sweep_id)      the transfer analysis, as a typed `TransferReport`
    make_executor(settings)      the executor the settings ask for
    sweep(spec, models=, tasks=) all of it from a script, with the script's own model and task classes

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

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paramz.errors import ConfigError
from paramz.models import ScalableModel
from sweeps.analysis import TransferReport, transfer_report
from sweeps.domain import RELAUNCHABLE, SWEEP_ACTIVE, SweepState
from sweeps.run import Executor, LocalExecutor, Progress, RayExecutor, run_sweep
from sweeps.run.executors.ray import Registered
from sweeps.search import strategy_for
from sweeps.settings import Settings, load_settings
from sweeps.spec import (
    LimitsSpec,
    SpecError,
    SweepSpec,
    Task,
    load_plugins,
    load_spec,
    parse_spec,
    register_model,
    register_task,
)
from sweeps.store import Store, SweepInfo


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


def run(store: Store, sweep_id: str, executor: Executor, progress: Progress | None = None,
        stop: threading.Event | None = None) -> SweepState:
    """Runs or resumes a sweep to its end on ``executor``; returns its final state (``pending`` when
    ``stop`` was set: a shutdown leaves it to resume).

    Raises:
        SweepBusy: another live runner holds it.
        SweepNotFound: no such sweep.
    """
    return run_sweep(store, sweep_id, executor, progress, stop)


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


_REPORTS: OrderedDict[tuple[Any, ...], TransferReport] = OrderedDict()
_REPORTS_LOCK = threading.Lock()
_IN_FLIGHT: dict[tuple[Any, ...], threading.Event] = {}
REPORT_CACHE_SIZE = 64


def report(store: Store, sweep_id: str, *, tolerance: float | None = None, width: int | None = None,
           depth: int | None = None) -> TransferReport:
    """The transfer analysis of a sweep (optima, law, verdicts, super consistency; a prediction at
    ``width``/``depth``). ``tolerance`` defaults to the spec's ``analysis.tolerance``.

    Cached per sweep version (`Store.version`: one cheap query), so readers polling a sweep do not
    recompute the analysis until a trial finishes; the last ``REPORT_CACHE_SIZE`` reports are kept.
    Single flight: concurrent callers for the same version wait for one computation instead of each
    running it (50 readers of a running sweep would otherwise recompute it 50 times per finished trial).

    Raises:
        SweepNotFound: no such sweep.
    """
    key = (store.url, sweep_id, store.version(sweep_id), tolerance, width, depth)
    with _REPORTS_LOCK:
        if key in _REPORTS:
            _REPORTS.move_to_end(key)
            return _REPORTS[key]
        flight = _IN_FLIGHT.get(key)
        leader = flight is None
        if leader:
            flight = _IN_FLIGHT[key] = threading.Event()
    assert flight is not None
    if not leader:          # single flight: readers asking for the same version wait for one computation
        flight.wait()
        with _REPORTS_LOCK:
            if key in _REPORTS:
                return _REPORTS[key]
        return _report(store, sweep_id, tolerance=tolerance, width=width, depth=depth)  # the leader failed
    try:
        result = _report(store, sweep_id, tolerance=tolerance, width=width, depth=depth)
        with _REPORTS_LOCK:
            _REPORTS[key] = result
            while len(_REPORTS) > REPORT_CACHE_SIZE:
                _REPORTS.popitem(last=False)
        return result
    finally:
        with _REPORTS_LOCK:
            _IN_FLIGHT.pop(key, None)
        flight.set()


def _report(store: Store, sweep_id: str, *, tolerance: float | None, width: int | None,
            depth: int | None) -> TransferReport:
    spec = store.spec(sweep_id)
    trials = store.trials_frame(sweep_id)
    metrics = store.metrics_frame(sweep_id, names_like="sharpness/")
    axes = [axis for axis, values in (("width", spec.widths), ("depth", spec.depths)) if len(values) > 1]
    return transfer_report(trials, base_width=spec.base_width, base_depth=spec.resolved_base_depth(),
                           tolerance=spec.analysis.tolerance if tolerance is None else tolerance, width=width,
                           depth=depth, parameterizations=[p.label for p in spec.parameterizations], axes=axes,
                           metrics=metrics)


def make_executor(settings: Settings, registered: Registered | None = None) -> Executor:
    """The executor the settings ask for: Ray actors (default) or in-process.

    Args:
        settings: executor kind, workers, Ray address, plugin allowlist.
        registered: classes registered by code in this process, for the Ray workers to register too.
    """
    if settings.executor == "local":
        return LocalExecutor()
    return RayExecutor(workers=settings.workers, address=settings.ray_address, plugins=settings.plugins,
                       registered=registered)


def sweep(spec: SweepSpec | Mapping[str, Any] | str | Path, *,
          models: Mapping[str, type[ScalableModel]] | None = None, tasks: Mapping[str, type[Task]] | None = None,
          settings: Settings | None = None, progress: Progress | None = None) -> SweepInfo:
    """Runs a sweep from Python, with model families and tasks defined in your script (no packaging).

        from sweeps.application import sweep
        info = sweep("spec.yaml", models={"mynet": MyNet}, tasks={"mytask": MyTask})

    The classes are registered in this process and in every Ray worker, so a spec can name them as
    it names the zoo's. This path is local on purpose: the REST service accepts only families and
    tasks installed as plugins (by name), never code.

    Args:
        spec: a spec (validated, a dict, or a YAML/JSON file).
        models: ``{name: ScalableModel subclass}`` to register.
        tasks: ``{name: Task subclass}`` to register.
        settings: store, executor and workers (default: from the environment).
        progress: called with the counts by state after every change.

    Returns:
        The sweep after the run.

    Raises:
        ConfigError: a class that is not a valid family or task, or an invalid spec.
    """
    settings = settings or load_settings()
    load_plugins(settings.plugins)
    for name, model_cls in (models or {}).items():
        register_model(name, model_cls)
    for name, task_cls in (tasks or {}).items():
        register_task(name, task_cls)
    registered: Registered = {"models": dict(models or {}), "tasks": dict(tasks or {})}
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif not isinstance(spec, SweepSpec):
        spec = parse_spec(dict(spec))
    store = Store(settings.store)
    launched = launch(store, spec)
    if launched.runnable:
        executor = make_executor(settings, registered)
        try:
            run(store, launched.sweep_id, executor, progress)
        finally:
            executor.close()
    return store.sweep(launched.sweep_id)

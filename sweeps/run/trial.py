"""One trial: build, parameterize, train, evaluate, probe sharpness, detect divergence.

`run_trial` is a pure function of its `sweeps.spec.TrialConfig` (given the machine's float
arithmetic): it returns the result and all its metrics in one object, so the store can write a
finished trial in one transaction.

While it runs, a trial can stream its new metrics to a ``report`` callback every few seconds (the
store keeps them apart, as live metrics, until the trial finishes).

The probe at step 0 is the same for every LR of one (model, width, depth, seed): the initial weights,
the probe batch and the operators do not depend on the LR (only the EoS ratio does). A worker keeps the
last few such probes and reuses them for the other LRs (`initial_probe_key`), with the same records
(the HVP count is the solve's), so a grid of 8 LRs solves its step-0 probes once per worker. It also
keeps the last trials' Krylov workspaces (memory already mapped, random starts already drawn), which
change no number: a kept random start moves the generator exactly as drawing it would.

Which steps it probes: ``sharpness.probes`` log-spaced steps, or with that unset as many as fit in
``sharpness.budget`` of the trial (`sweeps.spec.SharpnessSpec.count`: the same for every trial of a sweep).

Divergence is data: a NaN/inf loss, or a loss above ``divergence_factor`` × the initial loss, stops
the trial as ``diverged`` at that step.

Where the time goes is recorded too, as metrics ``time/<phase>`` (seconds, at the last step):
``setup`` (task, model, parameterization, optimizer), ``data``, ``forward`` (model and loss),
``backward``, ``optimizer`` (zero_grad, clip, step, schedule), ``eval``, ``probe``, ``other``
(bookkeeping: recording and streaming metrics).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

import paramz
from paramz.sharpness import Probe, Workspace, edge_of_stability, probe_model
from sweeps.domain import Metric, TrialResult, TrialState
from sweeps.spec import OptimizerSpec, TrialConfig, make_task


def probe_steps(steps: int, probes: int) -> list[int]:
    """Log-spaced probe steps in [0, steps], always including 0 and ``steps`` when probes ≥ 2."""
    if probes <= 0:
        return []
    if probes == 1:
        return [steps]
    points = {0, steps}
    for i in range(1, probes - 1):
        points.add(int(round(math.exp(math.log(steps + 1) * i / (probes - 1)))) - 1)
    return sorted(points)


def _schedule(opt: OptimizerSpec, steps: int) -> Callable[[int], float]:
    """The LR factor at each step: warmup, then constant, cosine or linear decay."""
    warmup, kind = opt.warmup_steps, opt.schedule

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        if kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        if kind == "linear":
            return max(0.0, 1 - progress)
        return 1.0

    return factor


Report = Callable[[list[Metric]], None]

_INITIAL_PROBES: OrderedDict[str, dict[str, Probe]] = OrderedDict()   # initial_probe_key → the step-0 probe
_INITIAL_KEPT = 4
_initial_lock = threading.Lock()
_WORKSPACES: OrderedDict[int, Workspace] = OrderedDict()   # parameter count → a finished trial's Krylov memory
_WORKSPACES_KEPT = 2


def _take_workspace(dim: int) -> Workspace:
    """A Krylov workspace for ``dim`` parameters: the last trial of that size's, or a new one. Taken out
    while a trial uses it (two trials at once in one process never share one); its pages are already
    mapped and its random starts drawn (a trial of the same seed draws the same ones)."""
    with _initial_lock:
        kept = _WORKSPACES.pop(dim, None)
    return kept if kept is not None else Workspace(dim)


def _keep_workspace(workspace: Workspace) -> None:
    with _initial_lock:
        _WORKSPACES[workspace.dim] = workspace
        while len(_WORKSPACES) > _WORKSPACES_KEPT:
            _WORKSPACES.popitem(last=False)


def initial_probe_key(cfg: TrialConfig) -> str:
    """What the probe at step 0 depends on: the trial's config without its LR and its length."""
    payload = cfg.hash_payload()
    for name in ("lr", "steps", "eval_every", "log_every", "divergence_factor"):
        payload.pop(name)
    return json.dumps(payload, sort_keys=True)


PHASES = ("setup", "data", "forward", "backward", "optimizer", "eval", "probe", "other")


class PhaseClock:
    """Seconds spent per phase of a trial (perf_counter; ~0.2 µs per use)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._mark = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Charges the time since the last lap to ``phase``."""
        now = time.perf_counter()
        self.seconds[phase] += now - self._mark
        self._mark = now

    @contextmanager
    def span(self, phase: str) -> Iterator[None]:
        """Charges the enclosed block to ``phase`` (and what preceded it to nothing)."""
        self._mark = time.perf_counter()
        yield
        self.lap(phase)


def run_trial(cfg: TrialConfig, report: Report | None = None, every: float = 2.0) -> TrialResult:
    """Trains one trial and returns its result with every metric (see the module docstring).

    Args:
        cfg: the trial.
        report: called with the metrics recorded since its last call, at most every ``every``
            seconds while the trial runs (live dashboards); the result still carries all of them.
        every: seconds between reports.
    """
    start = time.perf_counter()
    clock = PhaseClock()
    task = make_task(cfg.task.name, cfg.task.options)
    torch.manual_seed(cfg.seed)
    model = paramz.models.build(cfg.model.family, width=cfg.width, depth=cfg.depth, **cfg.model.dims,
                                **task.model_dims)
    pz = cfg.parameterization
    paramz.parameterize(model, pz.resolve(), base_width=cfg.base_width, base_depth=cfg.base_depth)
    o = cfg.optimizer
    opt = paramz.make_optimizer(model, o.name, lr=cfg.lr, weight_decay=o.weight_decay, eps=o.eps,
                                betas=o.betas, momentum=o.momentum)
    lr_factor = _schedule(o, cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)  # multiplies every group's lr
    probes = cfg.sharpness
    px, py = task.probe_batch(probes.probe_batch_size(cfg.batch_size))
    ex, ey = task.eval_batch()
    probe_at = set(probe_steps(cfg.steps, probes.count(cfg.steps, cfg.batch_size, o.name)))
    metrics: list[Metric] = []
    warm: dict[str, torch.Tensor] = {}
    krylov = _take_workspace(sum(p.numel() for p in model.parameters() if p.requires_grad)) if probe_at else None
    initial = last_train = None
    status, diverged_step, step = TrialState.COMPLETED, None, 0
    sent, last_report = 0, time.perf_counter()
    clock.lap("setup")

    def stream() -> None:
        nonlocal sent, last_report
        if report is not None and len(metrics) > sent and time.perf_counter() - last_report >= every:
            report(metrics[sent:])
            sent, last_report = len(metrics), time.perf_counter()

    def evaluate(at: int) -> float:
        with clock.span("eval"), torch.no_grad():
            model.eval()
            value = float(task.loss(model(ex), ey))
            model.train()
        metrics.append((at, "eval_loss", value))
        return value

    def probe(at: int) -> None:
        with clock.span("probe"):
            _probe(at)

    def _probe(at: int) -> None:
        variants = [v for v in probes.variants if not (v == "adam" and (at == 0 or o.name != "adamw"))]
        lr = cfg.lr * lr_factor(max(at - 1, 0))
        key = initial_probe_key(cfg) if at == 0 else None
        with _initial_lock:
            kept = _INITIAL_PROBES.get(key) if key is not None else None
            if key is not None and kept is not None:
                _INITIAL_PROBES.move_to_end(key)
        if kept is not None:       # the same weights, batch and operators: only the EoS ratio has this LR
            results = {v: dataclasses.replace(r, eos_ratio=edge_of_stability(r.eigenvalue, lr, v, o.betas[0]),
                                              seconds=0.0) for v, r in kept.items()}
        else:
            results = probe_model(model, lambda m: task.loss(m(px), py), variants=variants, optimizer=opt, lr=lr,
                                  beta1=o.betas[0], warm=warm, tol=probes.tol, max_iter=probes.max_iter,
                                  generator=torch.Generator().manual_seed(cfg.seed), workspace=krylov)
            if key is not None:
                with _initial_lock:
                    _INITIAL_PROBES[key] = results
                    while len(_INITIAL_PROBES) > _INITIAL_KEPT:
                        _INITIAL_PROBES.popitem(last=False)
        for name, res in results.items():
            warm[name] = res.eigenvector
            eos = res.eos_ratio if res.eos_ratio is not None else math.nan
            metrics.extend([(at, f"sharpness/{name}", res.eigenvalue), (at, f"eos/{name}", eos),
                            (at, f"hvps/{name}", float(res.hvps))])

    for step in range(cfg.steps):
        if step in probe_at:
            probe(step)
        clock.lap("other")         # bookkeeping since the last lap (metrics, streaming them to the driver)
        x, y = task.train_batch(step, cfg.batch_size, cfg.seed)
        clock.lap("data")
        loss = task.loss(model(x), y)
        value = float(loss.detach())
        clock.lap("forward")
        initial = value if initial is None else initial
        if not math.isfinite(value) or value > cfg.divergence_factor * initial:
            status, diverged_step = TrialState.DIVERGED, step
            metrics.append((step, "train_loss", value if math.isfinite(value) else float("inf")))
            break
        last_train = value
        if step % cfg.log_every == 0:
            metrics.append((step, "train_loss", value))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clock.lap("backward")
        if o.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
        opt.step()
        sched.step()
        clock.lap("optimizer")
        if step > 0 and step % cfg.eval_every == 0:
            evaluate(step)
        stream()
    final_eval = None
    if status is TrialState.COMPLETED:
        final_eval = evaluate(cfg.steps)
        if cfg.steps in probe_at:
            probe(cfg.steps)
        if not math.isfinite(final_eval):
            status, diverged_step, final_eval = TrialState.DIVERGED, cfg.steps, None
    if krylov is not None:
        _keep_workspace(krylov)
    steps_done = step + 1 if status is TrialState.COMPLETED else step
    metrics.extend((steps_done, f"time/{phase}", seconds) for phase, seconds in clock.seconds.items())
    return TrialResult(status, steps_done, last_train, final_eval, diverged_step, time.perf_counter() - start,
                       f"{socket.gethostname()}:{os.getpid()}", metrics)

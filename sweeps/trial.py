"""One trial: build, parameterize, train, evaluate, probe sharpness, detect divergence.

A `TrialConfig` is everything that determines a trial's result and nothing else; its id is a
content hash of that, so the same config in a rerun (or another sweep) has the same id and a
finished trial is never run twice. `run_trial` is a pure function of the config (given the
machine's float arithmetic): it returns the result and all its metrics in one object, so the store
can write a finished trial in one transaction.

While it runs, a trial can stream its new metrics to a ``report`` callback every few seconds (the
store keeps them apart, as live metrics, until the trial finishes).

Divergence is data: a NaN/inf loss, or a loss above ``divergence_factor`` × the initial loss, stops
the trial as ``diverged`` at that step.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from collections.abc import Callable
from typing import Any

import torch

import paramz
from paramz.sharpness import probe_model
from sweeps.tasks import make_task


@dataclass(frozen=True)
class TrialConfig:
    model: str
    dims: dict[str, Any]
    task: str
    task_options: dict[str, Any]
    parameterization: dict[str, Any]   # ParamSpec fields (name, alpha, ...)
    label: str                         # e.g. "mup" or "completep(alpha=0.75)"
    base_width: int
    base_depth: int
    width: int
    depth: int
    lr: float
    seed: int
    optimizer: dict[str, Any]
    steps: int
    batch_size: int
    eval_every: int
    log_every: int
    divergence_factor: float
    sharpness: dict[str, Any]

    @property
    def id(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class TrialResult:
    status: str                        # completed | diverged
    steps_done: int
    final_train_loss: float | None
    final_eval_loss: float | None
    diverged_step: int | None
    seconds: float
    worker: str
    metrics: list[tuple[int, str, float]] = field(default_factory=list)  # (step, name, value)


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


def _schedule(opt_spec: dict[str, Any], steps: int):
    warmup, kind = opt_spec.get("warmup_steps", 0), opt_spec.get("schedule", "constant")

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


Report = Callable[[list[tuple[int, str, float]]], None]


def run_trial(cfg: TrialConfig, report: Report | None = None, every: float = 2.0) -> TrialResult:
    """Trains one trial and returns its result with every metric (see the module docstring).

    Args:
        cfg: the trial.
        report: called with the metrics recorded since its last call, at most every ``every``
            seconds while the trial runs (live dashboards); the result still carries all of them.
        every: seconds between reports.
    """
    start = time.perf_counter()
    task = make_task(cfg.task, cfg.task_options)
    torch.manual_seed(cfg.seed)
    model = paramz.models.build(cfg.model, width=cfg.width, depth=cfg.depth, **cfg.dims, **task.model_dims)
    options = {k: v for k, v in cfg.parameterization.items() if k != "name"}
    paramz.parameterize(model, cfg.parameterization["name"], base_width=cfg.base_width, base_depth=cfg.base_depth,
                        **options)
    o = cfg.optimizer
    opt = paramz.make_optimizer(model, o["name"], lr=cfg.lr, weight_decay=o["weight_decay"], eps=o["eps"],
                                betas=tuple(o["betas"]), momentum=o["momentum"])
    lr_factor = _schedule(o, cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)  # multiplies every group's lr
    px, py = task.probe_batch(cfg.sharpness["batch_size"])
    ex, ey = task.eval_batch()
    probe_at = set(probe_steps(cfg.steps, cfg.sharpness["probes"]))
    metrics: list[tuple[int, str, float]] = []
    warm: dict[str, torch.Tensor] = {}
    initial = last_train = None
    status, diverged_step, step = "completed", None, 0
    sent, last_report = 0, time.perf_counter()

    def stream() -> None:
        nonlocal sent, last_report
        if report is not None and len(metrics) > sent and time.perf_counter() - last_report >= every:
            report(metrics[sent:])
            sent, last_report = len(metrics), time.perf_counter()

    def evaluate(at: int) -> float:
        with torch.no_grad():
            model.eval()
            value = float(task.loss(model(ex), ey))
            model.train()
        metrics.append((at, "eval_loss", value))
        return value

    def probe(at: int) -> None:
        variants = [v for v in cfg.sharpness["variants"] if not (v == "adam" and (at == 0 or o["name"] != "adamw"))]
        results = probe_model(model, lambda m: task.loss(m(px), py), variants=variants, optimizer=opt,
                              lr=cfg.lr * lr_factor(max(at - 1, 0)), beta1=o["betas"][0], warm=warm,
                              tol=cfg.sharpness["tol"], max_iter=cfg.sharpness["max_iter"],
                              generator=torch.Generator().manual_seed(cfg.seed))
        for name, res in results.items():
            warm[name] = res.eigenvector
            metrics.extend([(at, f"sharpness/{name}", res.eigenvalue), (at, f"eos/{name}", res.eos_ratio),
                            (at, f"hvps/{name}", float(res.hvps))])

    for step in range(cfg.steps):
        if step in probe_at:
            probe(step)
        x, y = task.train_batch(step, cfg.batch_size, cfg.seed)
        loss = task.loss(model(x), y)
        value = float(loss.detach())
        initial = value if initial is None else initial
        if not math.isfinite(value) or value > cfg.divergence_factor * initial:
            status, diverged_step = "diverged", step
            metrics.append((step, "train_loss", value if math.isfinite(value) else float("inf")))
            break
        last_train = value
        if step % cfg.log_every == 0:
            metrics.append((step, "train_loss", value))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if o.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), o["grad_clip"])
        opt.step()
        sched.step()
        if step > 0 and step % cfg.eval_every == 0:
            evaluate(step)
        stream()
    final_eval = None
    if status == "completed":
        final_eval = evaluate(cfg.steps)
        if cfg.steps in probe_at:
            probe(cfg.steps)
        if not math.isfinite(final_eval):
            status, diverged_step, final_eval = "diverged", cfg.steps, None
    return TrialResult(status, step + 1 if status == "completed" else step, last_train, final_eval, diverged_step,
                       time.perf_counter() - start, f"{socket.gethostname()}:{os.getpid()}", metrics)

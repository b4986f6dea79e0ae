"""Runs a validation profile through the normal engine and analysis, and gathers what the report needs.

Every study is an ordinary sweep (`sweeps.application.launch` / `run` / `report`) in one store, so a
rerun resumes where a crash or Ctrl-C left it and the sweeps can be opened in the dashboards. The
prediction check reads η* at ``factor``× the largest width from the width study's law, then sweeps a
narrow LR grid around it at that width (same base shape, so the same multipliers) and compares the
measured optimum with the predicted interval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sweeps import application
from sweeps.analysis import TransferReport
from sweeps.analysis.law import Prediction
from sweeps.analysis.optimum import Optimum
from sweeps.run import Executor
from sweeps.spec import SweepSpec, parse_spec
from sweeps.store import Store
from sweeps.validation.claims import BestLoss, ClaimLine, Spread, best_losses, judge, spread_difference
from sweeps.validation.studies import PredictionCheck, Profile, Study

OPERATORS = ("raw", "lr", "adam")
Say = Callable[[str], None]


@dataclass(frozen=True)
class StudyResult:
    study: Study
    spec: SweepSpec
    sweep_id: str
    status: str
    report: TransferReport
    trials: pd.DataFrame
    metrics: pd.DataFrame
    bests: list[BestLoss]
    claims: list[ClaimLine]
    spreads: list[Spread] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def failed_trials(self) -> int:
        return int((self.trials["status"] == "failed").sum())


@dataclass(frozen=True)
class PredictionResult:
    parameterization: str
    width: int
    depth: int
    predicted: Prediction
    spec: SweepSpec
    sweep_id: str
    measured: Optimum | None
    trials: pd.DataFrame
    base_log2_lr: float          # the optimum at the study's base width, for how far the prediction moved
    wall_s: float = 0.0

    @property
    def inside(self) -> bool | None:
        """The measured optimum lies inside the predicted 95% interval (None: no finite measurement)."""
        m = self.measured
        if m is None or not math.isfinite(m.log2_lr) or m.method == "edge":
            return None
        return math.log2(self.predicted.lr_low) <= m.log2_lr <= math.log2(self.predicted.lr_high)

    @property
    def miss(self) -> float | None:
        """Measured minus predicted log2 η*, octaves."""
        return None if self.measured is None else self.measured.log2_lr - self.predicted.log2_lr

    @property
    def z(self) -> float | None:
        """The miss over the combined standard error of prediction and measurement."""
        m = self.measured
        if m is None or not math.isfinite(m.sd):
            return None
        pred_sd = (math.log2(self.predicted.lr_high) - self.predicted.log2_lr) / 1.96
        return (m.log2_lr - self.predicted.log2_lr) / math.sqrt(pred_sd ** 2 + m.sd ** 2)


@dataclass(frozen=True)
class Validation:
    profile: Profile
    studies: list[StudyResult]
    predictions: list[PredictionResult]
    started: str
    wall_s: float
    workers: int


def span_s(trials: pd.DataFrame) -> float:
    """Seconds from the sweep's first trial start to its last trial finish (what it took, resumes included)."""
    started = pd.to_datetime(trials["started_at"].dropna(), utc=True, format="ISO8601")
    finished = pd.to_datetime(trials["finished_at"].dropna(), utc=True, format="ISO8601")
    if started.empty or finished.empty:
        return 0.0
    return float((finished.max() - started.min()).total_seconds())


def _run_sweep(store: Store, spec: SweepSpec, executor: Executor, say: Say) -> tuple[str, str]:
    launched = application.launch(store, spec)
    say(f"{spec.name}: {spec.n_trials} trials ({launched.status.value}"
        f"{', resumed' if not launched.created and launched.runnable else ''})")
    last = [0.0]

    def progress(counts: dict[str, int]) -> None:
        now = time.perf_counter()
        if now - last[0] > 30:
            last[0] = now
            say(f"  {spec.name}: {counts}")

    status = application.run(store, launched.sweep_id, executor, progress) if launched.runnable else launched.status
    return launched.sweep_id, status.value


def run_study(store: Store, study: Study, executor: Executor, say: Say) -> StudyResult:
    spec = parse_spec(study.spec)
    sweep_id, status = _run_sweep(store, spec, executor, say)
    report = application.report(store, sweep_id)
    trials = store.trials_frame(sweep_id)
    wall = span_s(trials)
    metrics = store.metrics_frame(sweep_id, names_like="sharpness/")
    bests = best_losses(trials)
    claims = judge(report, study.claim, study.transfers, study.drifts, bests)
    spreads = []
    if study.sharpness:
        for op in OPERATORS:
            s = spread_difference(trials, metrics, report, op)
            if s is not None:
                spreads.append(s)
    return StudyResult(study, spec, sweep_id, status, report, trials, metrics, bests, claims, spreads, wall)


def _prediction_spec(study: StudyResult, check: PredictionCheck, param: str, centre: float) -> SweepSpec:
    spec = dict(study.study.spec)
    lo = math.floor((centre - check.half_range) / check.step) * check.step
    hi = math.ceil((centre + check.half_range) / check.step) * check.step
    return parse_spec({**spec, "name": f"{spec['name']}-predict-{param}", "parameterizations": [{"name": param}],
                       "widths": [check.factor * max(study.spec.widths)],
                       "lr": {"log2_min": lo, "log2_max": hi, "log2_step": check.step},
                       "seeds": list(check.seeds), "sharpness": {"probes": 0},
                       **({"steps": check.steps} if check.steps else {})})


def run_prediction(store: Store, study: StudyResult, check: PredictionCheck, executor: Executor,
                   say: Say) -> list[PredictionResult]:
    """Predict at ``factor``× the largest width for every parameterization with a law, then measure."""
    width = check.factor * max(study.spec.widths)
    depth = study.spec.resolved_base_depth()
    report = application.report(store, study.sweep_id, width=width, depth=depth)
    out = []
    for param, pred in report.predictions.items():
        spec = _prediction_spec(study, check, param, pred.log2_lr)
        sweep_id, _ = _run_sweep(store, spec, executor, say)
        measured = application.report(store, sweep_id)
        optimum = next((o for o in measured.optima if o.parameterization == param), None)
        base = next((o.log2_lr for o in report.optima
                     if o.parameterization == param and o.width == study.spec.base_width), math.nan)
        trials = store.trials_frame(sweep_id)
        out.append(PredictionResult(param, width, depth, pred, spec, sweep_id, optimum, trials, base, span_s(trials)))
    return out


def run_validation(profile: Profile, store: Store, executor: Executor, say: Say,
                   only: tuple[str, ...] = ()) -> Validation:
    """Every study of ``profile`` (or those in ``only``), then the prediction check."""
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    start = time.perf_counter()
    results = [run_study(store, s, executor, say) for s in profile.studies if not only or s.key in only]
    predictions: list[PredictionResult] = []
    check = profile.prediction
    if check is not None:
        source = next((r for r in results if r.study.key == check.study), None)
        if source is not None:
            predictions = run_prediction(store, source, check, executor, say)
    workers = int(getattr(executor, "n_workers", 1))
    return Validation(profile, results, predictions, started, time.perf_counter() - start, workers)


def sweeps_s(v: Validation) -> float:
    """The studies' own time (first trial start to last finish, summed): what a fresh run takes."""
    return sum(r.wall_s for r in v.studies) + sum(p.wall_s for p in v.predictions)


def summary(v: Validation) -> dict[str, Any]:
    """The verdicts of the run as plain data (``paramz validate --json``)."""
    return {
        "profile": v.profile.name, "wall_s": round(v.wall_s, 1),
        "studies": [{"key": r.study.key, "sweep_id": r.sweep_id, "status": r.status,
                     "claims": [{"parameterization": c.parameterization, "expected": c.expected, "shown": c.shown,
                                 "text": c.text} for c in r.claims],
                     "sharpness": [{"operator": s.operator, "cv": s.cv, "difference": s.difference,
                                    "low": s.low, "high": s.high, "outcome": s.outcome} for s in r.spreads]}
                    for r in v.studies],
        "predictions": [{"parameterization": p.parameterization, "width": p.width,
                         "predicted_log2_lr": p.predicted.log2_lr,
                         "predicted_interval": [math.log2(p.predicted.lr_low), math.log2(p.predicted.lr_high)],
                         "measured_log2_lr": None if p.measured is None else p.measured.log2_lr,
                         "inside": p.inside, "miss": p.miss} for p in v.predictions],
    }

"""What a sweep says: transfer curves and verdicts, the optimal LR at any scale, sharpness series.

All numbers come from `sweeps.application.report`, the same typed report the CLI renders, so the
CLI, the API and the dashboards never disagree. They follow a running sweep: each answer is kept
under the sweep's revision (`service.httpcache`) and computed again once anything it rests on changed.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query

from service.deps import SettingsDep, StoreDep, SweepDep
from service.errors import problems
from service.schemas import (
    ConsistencyPublic,
    Curve,
    FitPublic,
    OptimalLRPublic,
    OptimumPublic,
    Prediction,
    Series,
    SharpnessPublic,
    SharpnessSeries,
    TransferPublic,
    TrialMetricsPublic,
    VerdictPublic,
)
from sweeps import application
from sweeps.analysis import Optimum, TransferFit
from sweeps.analysis.report import jsonable as _jsonable
from sweeps.domain import TrialState

router = APIRouter(prefix="/sweeps", tags=["analysis"])
Tolerance = Annotated[float | None, Query(gt=0, le=10, description=(
    "octaves of η* drift per doubling still called 'transfers' (default: the spec's analysis.tolerance, 1/3)"))]


def _fit(fit: TransferFit) -> FitPublic:
    data = _jsonable(asdict(fit))
    data["local"] = _fit(fit.local) if fit.local is not None else None
    return FitPublic(**data, a_interval=fit.interval("a"), b_interval=fit.interval("b"))


def _optimum(o: Optimum) -> OptimumPublic:
    data = _jsonable(asdict(o))
    return OptimumPublic(**data, low=data["log2_low"], high=data["log2_high"])


@router.get("/{sweep_id}/transfer", response_model=TransferPublic, responses=problems(404, 422),
            summary="Transfer curves, optimal LR per scale with intervals and flags, the fitted law, the verdict "
                    "with its reasons, super consistency")
def transfer(sweep: SweepDep, store: StoreDep, tolerance: Tolerance = None) -> TransferPublic:
    report = application.report(store, sweep.id, tolerance=tolerance)
    return TransferPublic(id=sweep.id, status=sweep.status, tolerance=report.tolerance,
                          curves=[Curve(**asdict(c)) for c in report.curves],
                          optima=[_optimum(o) for o in report.optima],
                          fits={p: _fit(f) for p, f in report.fits.items()}, no_law=report.no_law,
                          verdicts=report.verdict_texts(),
                          verdict_details={p: {axis: VerdictPublic(**_jsonable(asdict(v))) for axis, v in axes.items()}
                                           for p, axes in report.verdicts.items()},
                          consistency=[ConsistencyPublic(**_jsonable(asdict(c))) for c in report.consistency])


@router.get("/{sweep_id}/optimal-lr", response_model=OptimalLRPublic, responses=problems(404, 409, 422),
            summary="The optimal LR at any (width, depth): prediction, 95% interval, provenance, extrapolation warning")
def optimal_lr(sweep: SweepDep, store: StoreDep,
               width: Annotated[int, Query(gt=0, le=2**30, description="target width", examples=[4096])],
               depth: Annotated[int | None, Query(gt=0, le=2**20, description="target depth (default: base)")] = None,
               parameterization: Annotated[str | None, Query(max_length=200)] = None) -> OptimalLRPublic:
    spec = store.spec(sweep.id)
    depth = depth if depth is not None else spec.resolved_base_depth()
    labels = [p.label for p in spec.parameterizations]
    if parameterization is not None and parameterization not in labels:
        raise HTTPException(422, f"parameterization: {parameterization!r} is not in this sweep; it has "
                                 f"{', '.join(labels)}")
    report = application.report(store, sweep.id, width=width, depth=depth)
    wanted = [parameterization] if parameterization else labels
    missing = {p: report.no_prediction.get(p, "no law") for p in wanted if p not in report.predictions}
    if len(missing) == len(wanted):
        reasons = "; ".join(f"{p}: {why}" for p, why in missing.items())
        raise HTTPException(409, f"no prediction (sweep status {sweep.status.value!r}): {reasons}")
    predictions = {}
    for p in wanted:
        if p not in report.predictions:
            continue
        pred = report.predictions[p]
        used = [_optimum(o) for o in report.optima
                if o.parameterization == p and (o.width, o.depth) in pred.rests_on]
        predictions[p] = Prediction(lr=pred.lr, log2_lr=pred.log2_lr, lr_low=pred.lr_low, lr_high=pred.lr_high,
                                    rests_on=pred.rests_on, warnings=list(pred.warnings), fit=_fit(pred.fit),
                                    optima=used)
    return OptimalLRPublic(id=sweep.id, width=width, depth=depth, predictions=predictions, no_prediction=missing)


@router.get("/{sweep_id}/sharpness", response_model=SharpnessPublic, responses=problems(404, 422),
            summary="Sharpness series per trial: λ_max (raw, LR-scaled, Adam-preconditioned) and the EoS ratio; "
                    "running trials with the probes so far")
def sharpness(sweep: SweepDep, store: StoreDep, settings: SettingsDep,
              parameterization: Annotated[str | None, Query(max_length=200)] = None,
              width: Annotated[int | None, Query(gt=0, le=2**30)] = None,
              depth: Annotated[int | None, Query(gt=0, le=2**20)] = None,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> SharpnessPublic:
    trials = store.trials_frame(sweep.id)
    trials = trials[trials["status"].isin([TrialState.COMPLETED.value, TrialState.DIVERGED.value,
                                           TrialState.RUNNING.value])]
    for column, value in (("parameterization", parameterization), ("width", width), ("depth", depth)):
        if value is not None:
            trials = trials[trials[column] == value]
    trials = trials.sort_values(["parameterization", "width", "depth", "lr", "seed"])
    trials = trials.iloc[offset:offset + min(limit, settings.max_page)]
    metrics = store.metrics_frame(sweep.id, trials["id"], live=True)
    metrics = metrics[metrics["name"].str.startswith(("sharpness/", "eos/"))]
    # one pivot for all trials: (trial, step) rows, a column per metric (a trial without probes has none)
    table = metrics.pivot_table(index=["trial_id", "step"], columns="name", values="value", aggfunc="first",
                                dropna=False) if len(metrics) else pd.DataFrame()
    by_trial = {trial_id: rows.droplevel(0) for trial_id, rows in table.groupby(level=0)} if len(table) else {}
    series = []
    for t in trials.itertuples():
        mine = by_trial.get(t.id, pd.DataFrame())
        steps = [int(step) for step in mine.index]
        variants = sorted({c.split("/", 1)[1] for c in mine.columns if mine[c].notna().any()})

        def values_of(name: str, mine: pd.DataFrame = mine, n: int = len(steps)) -> list[float | None]:
            values = mine[name] if name in mine else [np.nan] * n
            return [None if v is None or not np.isfinite(v) else float(v) for v in values]
        series.append(SharpnessSeries(trial_id=t.id, parameterization=t.parameterization, width=int(t.width),
                                      depth=int(t.depth), lr=float(t.lr), seed=int(t.seed), status=t.status,
                                      live=t.status == TrialState.RUNNING.value, steps=steps,
                                      sharpness={v: values_of(f"sharpness/{v}") for v in variants},
                                      eos={v: values_of(f"eos/{v}") for v in variants}))
    return SharpnessPublic(id=sweep.id, series=series)


@router.get("/{sweep_id}/trials/{trial_id}/metrics", response_model=TrialMetricsPublic, responses=problems(404, 422),
            summary="Every per-step metric of one trial; while it runs, what it has streamed so far")
def trial_metrics(sweep: SweepDep, store: StoreDep,
                  trial_id: Annotated[str, Path(max_length=64, description="trial id")]) -> TrialMetricsPublic:
    trials = store.trials_frame(sweep.id)
    row = trials[trials["id"] == trial_id]
    if row.empty:
        raise HTTPException(404, f"trial id: no trial {trial_id!r} in sweep {sweep.id!r}; "
                                 f"GET /api/v1/sweeps/{sweep.id}/trials lists them")
    status = TrialState(row["status"].iloc[0])
    metrics = store.metrics_frame(sweep.id, [trial_id], live=True).sort_values("step", kind="stable")
    series = {name: Series(steps=[int(s) for s in group["step"]],
                           values=[None if v is None or not np.isfinite(v) else float(v) for v in group["value"]])
              for name, group in metrics.groupby("name")}
    return TrialMetricsPublic(id=sweep.id, trial_id=trial_id, status=status, live=status is TrialState.RUNNING,
                              series=series)

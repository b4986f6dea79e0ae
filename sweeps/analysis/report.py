"""What a sweep says, as one typed object: curves, optima, the law, verdicts and predictions.

`transfer_report` composes the analysis once; the CLI renders the `TransferReport` as text or JSON,
the REST service serializes it, the dashboards draw it. Nothing else composes these functions, so
the three never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from sweeps.analysis.consistency import Consistency, super_consistency
from sweeps.analysis.curves import seed_mean_curves
from sweeps.analysis.law import (
    TOLERANCE,
    Prediction,
    TransferFit,
    Verdict,
    fit_transfer_law,
    no_law_reason,
    no_law_verdict,
    predict,
    verdict,
)
from sweeps.analysis.optimum import Optimum, optimal_lr_per_scale


@dataclass(frozen=True)
class CurvePoint:
    """One LR of one scale: seed-mean final held-out loss (None when diverged)."""

    lr: float
    log2_lr: float
    loss: float | None
    diverged: bool
    n_seeds: int


@dataclass(frozen=True)
class Curve:
    """Loss against LR at one scale of one parameterization."""

    parameterization: str
    width: int
    depth: int
    points: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class TransferReport:
    """Everything the transfer analysis of one sweep says (see the module docstring).

    Every parameterization of the sweep appears in ``verdicts``; one without a law has its reason in
    ``no_law`` (and, when a prediction was asked for, in ``no_prediction``).

    Attributes:
        tolerance: octaves per doubling still called "transfers".
        curves: loss vs LR per scale.
        optima: the optimum per scale.
        fits: the fitted law per parameterization (those with enough optima).
        no_law: per parameterization without a law, why.
        verdicts: per parameterization, per swept axis, the `Verdict`.
        predictions: per parameterization, η* at the scale asked for (empty when none was).
        no_prediction: per parameterization with no prediction at the scale asked for, why.
        consistency: the super-consistency statistic of the sharpness probes (empty without metrics).
    """

    tolerance: float
    curves: tuple[Curve, ...]
    optima: tuple[Optimum, ...]
    fits: dict[str, TransferFit]
    no_law: dict[str, str]
    verdicts: dict[str, dict[str, Verdict]]
    predictions: dict[str, Prediction] = field(default_factory=dict)
    no_prediction: dict[str, str] = field(default_factory=dict)
    consistency: tuple[Consistency, ...] = ()

    def verdict_texts(self) -> dict[str, dict[str, str]]:
        """``{parameterization: {axis: text}}``."""
        return {p: {axis: v.text for axis, v in axes.items()} for p, axes in self.verdicts.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (no infinities)."""
        return jsonable(asdict(self))


def jsonable(value: Any) -> Any:
    """Plain data with every non-finite float as None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def curves_of(trials: pd.DataFrame) -> tuple[Curve, ...]:
    """Loss vs LR per scale, from the one seed-mean aggregation."""
    table = seed_mean_curves(trials)
    out = []
    for (param, width, depth), group in table.groupby(["parameterization", "width", "depth"], sort=True):
        points = tuple(CurvePoint(float(r.lr), float(r.log2_lr), float(r.loss) if math.isfinite(r.loss) else None,
                                  not math.isfinite(r.loss), int(r.n_seeds)) for r in group.itertuples())
        out.append(Curve(str(param), int(width), int(depth), points))
    return tuple(out)


def transfer_report(trials: pd.DataFrame, *, base_width: int, base_depth: int, tolerance: float = TOLERANCE,
                    width: int | None = None, depth: int | None = None, parameterizations: Sequence[str] = (),
                    axes: Sequence[str] | None = None, metrics: pd.DataFrame | None = None) -> TransferReport:
    """The transfer analysis of a sweep's trials.

    Args:
        trials: the sweep's trials (`sweeps.store.Store.trials_frame`).
        base_width, base_depth: the sweep's base shape (N0, L0).
        tolerance: octaves per doubling still called "transfers".
        width, depth: predict η* at this scale (depth defaults to the base depth); none when
            ``width`` is None.
        parameterizations: the sweep's labels, so one with no result yet is listed with its reason.
        axes: the swept axes ("width", "depth"; default: those the trials vary).
        metrics: the trials' per-step metrics, for the super-consistency statistic (none without).
    """
    optima = optimal_lr_per_scale(trials)
    fits = fit_transfer_law(optima, base_width, base_depth)
    labels = list(dict.fromkeys([*parameterizations, *sorted({o.parameterization for o in optima})]))
    if axes is None:
        axes = [axis for axis in ("width", "depth") if len(trials) and trials[axis].nunique() > 1]
    no_law = {p: no_law_reason(p, optima) for p in labels if p not in fits}
    verdicts = {p: verdict(fits[p], tolerance, optima) if p in fits else no_law_verdict(no_law[p], axes, tolerance)
                for p in labels}
    predictions, no_prediction = {}, {}
    if width is not None:
        predictions = {p: predict(f, width, depth if depth is not None else base_depth) for p, f in fits.items()}
        no_prediction = {p: f"no law: {reason}" for p, reason in no_law.items()}
    consistency = tuple(super_consistency(trials, metrics, optima)) if metrics is not None else ()
    return TransferReport(tolerance, curves_of(trials), tuple(optima), fits, no_law, verdicts, predictions,
                          no_prediction, consistency)

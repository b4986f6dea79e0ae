"""What a sweep says, as one typed object: curves, optima, the law, verdicts and predictions.

`transfer_report` composes the analysis once; the CLI renders the `TransferReport` as text or JSON,
the REST service serializes it, the dashboards draw it. Nothing else composes these functions, so
the three never disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from sweeps.analysis.curves import seed_mean_curves
from sweeps.analysis.law import Prediction, TransferFit, fit_transfer_law, predict, verdict
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

    Attributes:
        tolerance: octaves per doubling still called "transfers".
        curves: loss vs LR per scale.
        optima: the optimum per scale.
        fits: the fitted law per parameterization (those with enough optima).
        verdicts: per parameterization, per swept axis, the verdict's text.
        predictions: per parameterization, η* at the scale asked for (empty when none was).
    """

    tolerance: float
    curves: tuple[Curve, ...]
    optima: tuple[Optimum, ...]
    fits: dict[str, TransferFit]
    verdicts: dict[str, dict[str, str]]
    predictions: dict[str, Prediction] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (no infinities)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
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


def transfer_report(trials: pd.DataFrame, *, base_width: int, base_depth: int, tolerance: float = 0.5,
                    width: int | None = None, depth: int | None = None) -> TransferReport:
    """The transfer analysis of a sweep's trials.

    Args:
        trials: the sweep's trials (`sweeps.store.Store.trials_frame`).
        base_width, base_depth: the sweep's base shape (N0, L0).
        tolerance: octaves per doubling still called "transfers".
        width, depth: predict η* at this scale (depth defaults to the base depth); none when
            ``width`` is None.
    """
    optima = optimal_lr_per_scale(trials)
    fits = fit_transfer_law(optima, base_width, base_depth)
    predictions = {}
    if width is not None:
        predictions = {p: predict(f, width, depth if depth is not None else base_depth) for p, f in fits.items()}
    return TransferReport(tolerance, curves_of(trials), tuple(optima), fits,
                          {p: verdict(f, tolerance) for p, f in fits.items()}, predictions)

"""What each study says about its claim, from the analysis' own numbers, never more than its intervals.

* Width: a parameterization the theory says transfers must get the ``transfers`` verdict; one it says
  drifts must get ``drifts``. Anything else is reported as not shown, with the verdict's text.
* Depth: as width, and the best loss must not get worse with depth for a rule that transfers. A rule
  the theory says fails is shown failing when its optimum drifts *or* its best loss degrades.
* Best loss vs scale (`best_losses`): per scale the seed-mean loss at the grid argmin and its standard
  error over seeds; deepest against shallowest, a change beyond 2 combined standard errors is
  ``degrades``/``improves``, else ``flat``.
* Sharpness (`spread_difference`): the coefficient of variation of λ_max across widths at each
  width's best LR, at the last common probe step, SP minus μP, with a 95% seed-bootstrap interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweeps.analysis import TransferReport
from sweeps.analysis.curves import loss_points

Z = 1.96


@dataclass(frozen=True)
class BestLoss:
    parameterization: str
    width: int
    depth: int
    log2_lr: float          # the grid argmin of the seed-mean curve
    loss: float             # seed-mean final held-out loss there
    se: float               # its standard error over seeds (nan with one seed)
    n_seeds: int


def best_losses(trials: pd.DataFrame) -> list[BestLoss]:
    """Per scale: the seed-mean loss at the grid argmin, with its standard error over seeds."""
    points = loss_points(trials)
    out = []
    for (param, width, depth), rows in points.groupby(["parameterization", "width", "depth"], sort=True):
        by_lr = rows.groupby("log2_lr")["loss"]
        means = by_lr.mean()
        finite = means[np.isfinite(means)]
        if finite.empty:
            continue
        best = float(finite.idxmin())
        losses = rows.loc[rows["log2_lr"] == best, "loss"].to_numpy(dtype=float)
        se = float(losses.std(ddof=1) / math.sqrt(len(losses))) if len(losses) > 1 else math.nan
        out.append(BestLoss(str(param), int(width), int(depth), best, float(finite.min()), se, len(losses)))
    return out


@dataclass(frozen=True)
class LossTrend:
    parameterization: str
    axis: str
    first: BestLoss
    last: BestLoss
    change: float           # last − first
    half_width: float       # 2 combined standard errors (nan: one seed)
    outcome: str            # degrades | improves | flat | unknown

    @property
    def text(self) -> str:
        scale = (lambda b: b.width) if self.axis == "width" else (lambda b: b.depth)
        span = f"{self.first.loss:.4f} at {self.axis} {scale(self.first)} → {self.last.loss:.4f} at {scale(self.last)}"
        if self.outcome == "unknown":
            return f"best loss {span} (one seed: no error bar)"
        return f"best loss {self.outcome} ({span}; change {self.change:+.4f} ± {self.half_width:.4f})"


def loss_trend(bests: list[BestLoss], parameterization: str, axis: str) -> LossTrend | None:
    """Best loss at the largest against the smallest scale along ``axis`` (see the module docstring)."""
    rows = sorted((b for b in bests if b.parameterization == parameterization),
                  key=lambda b: b.width if axis == "width" else b.depth)
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    change = last.loss - first.loss
    half = 2 * math.sqrt(first.se ** 2 + last.se ** 2)
    if not math.isfinite(half):
        outcome = "unknown"
    elif change > half:
        outcome = "degrades"
    elif change < -half:
        outcome = "improves"
    else:
        outcome = "flat"
    return LossTrend(parameterization, axis, first, last, change, half, outcome)


@dataclass(frozen=True)
class ClaimLine:
    parameterization: str
    expected: str           # "transfers" | "fails"
    shown: bool
    text: str


def judge(report: TransferReport, axis: str, transfers: tuple[str, ...], drifts: tuple[str, ...],
          bests: list[BestLoss]) -> list[ClaimLine]:
    """One line per parameterization named by the study (see the module docstring)."""
    lines = []
    for param in (*transfers, *drifts):
        v = report.verdicts.get(param, {}).get(axis)
        verdict_text = v.text if v is not None else "no verdict"
        trend = loss_trend(bests, param, axis) if axis == "depth" else None
        trend_text = f"; {trend.text}" if trend else ""
        if param in transfers:
            shown = v is not None and v.outcome == "transfers" and (trend is None or trend.outcome != "degrades")
            lines.append(ClaimLine(param, "transfers", shown, f"{verdict_text}{trend_text}"))
        else:
            degrades = trend is not None and trend.outcome == "degrades"
            shown = v is not None and (v.outcome == "drifts" or degrades)
            lines.append(ClaimLine(param, "fails", shown, f"{verdict_text}{trend_text}"))
    return lines


@dataclass(frozen=True)
class Spread:
    operator: str
    step: int
    cv: dict[str, float]            # per parameterization
    difference: float               # cv[sp] − cv[mup]
    low: float                      # 95% seed-bootstrap interval of the difference
    high: float

    @property
    def outcome(self) -> str:
        if self.low > 0:
            return "μP spreads less"
        if self.high < 0:
            return "μP spreads more"
        return "no clear difference"


def _cv(groups: list[np.ndarray]) -> float:
    means = np.array([g.mean() for g in groups])
    return float(means.std(ddof=1) / abs(means.mean()))


def spread_difference(trials: pd.DataFrame, metrics: pd.DataFrame, report: TransferReport, operator: str,
                      a: str = "sp", b: str = "mup", n_boot: int = 2000, seed: int = 0) -> Spread | None:
    """CV of λ_max across widths at each width's best LR, ``a`` minus ``b``, with a seed bootstrap.

    None when either has probes of ``operator`` at fewer than 2 widths or at no common step.
    """
    best = {(o.parameterization, o.width, o.depth): round(o.grid_log2_lr, 6) for o in report.optima}
    probes = metrics[metrics["name"] == f"sharpness/{operator}"]
    joined = probes.merge(trials[["id", "parameterization", "width", "depth", "lr", "seed"]],
                          left_on="trial_id", right_on="id")
    joined = joined[np.isfinite(joined["value"].astype(float))]
    joined = joined.assign(log2_lr=np.log2(joined["lr"].astype(float)).round(6))
    keep = np.array([best.get((p, int(w), int(d))) == x for p, w, d, x in zip(
        joined["parameterization"], joined["width"], joined["depth"], joined["log2_lr"], strict=True)], dtype=bool)
    joined = joined[keep]
    groups: dict[str, list[np.ndarray]] = {}
    steps = []
    for param in (a, b):
        rows = joined[joined["parameterization"] == param]
        n_widths = rows["width"].nunique()
        if n_widths < 2:
            return None
        per_step = rows.groupby("step")["width"].nunique()
        common = per_step[per_step == n_widths].index
        if common.empty:
            return None
        last = rows[rows["step"] == common.max()]
        steps.append(int(common.max()))
        groups[param] = [g["value"].to_numpy(dtype=float) for _, g in last.groupby("width")]
    cv = {p: _cv(g) for p, g in groups.items()}
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        boot = [_cv([g[rng.integers(len(g), size=len(g))] for g in groups[p]]) for p in (a, b)]
        diffs[i] = boot[0] - boot[1]
    low, high = np.quantile(diffs, [0.025, 0.975])
    return Spread(operator, max(steps), cv, cv[a] - cv[b], float(low), float(high))

"""Super consistency: does the sharpness λ_max stay the same across scales as training goes on?

Under μP (and CompleteP in depth) the sharpness seen by the optimizer settles at a value that does
not depend on width during training (Noci et al., 2024, "Super Consistency of Neural Network
Landscapes and Learning Rate Transfer"); under SP it keeps changing with width. The statistic here
is the spread of λ_max across the scales of one parameterization at matched steps: the coefficient
of variation (sample sd over mean) across scales, per probe step, for each probe operator (``raw``
Hessian, ``lr``: scaled by each group's LR, ``adam``: the Adam-preconditioned one), in two settings:

* ``best-lr``: each scale at its own best grid LR (the seed-mean argmin);
* ``fixed-lr``: one LR common to all scales, the grid LR nearest the median of the scales' best LRs
  among those that finished (not diverged) at every scale.

λ is the seed mean at each step; trials that diverged are left out (their later probes are not
made). A statistic that cannot be computed comes with its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweeps.analysis.curves import SCALE
from sweeps.analysis.optimum import Optimum
from sweeps.domain import TrialState


@dataclass(frozen=True)
class Consistency:
    """The spread of λ_max across the scales of one parameterization, for one operator and one LR choice."""

    parameterization: str
    operator: str                       # raw | lr | adam
    mode: str                           # best-lr | fixed-lr
    lr: float | None                    # the common LR (fixed-lr)
    scales: list[tuple[int, int]]       # (width, depth) compared
    steps: list[int]                    # probe steps common to all of them
    cv: list[float]                     # coefficient of variation across scales per step
    cv_final: float | None              # at the last common step
    reason: str = ""                    # why there is no statistic (cv empty)


def _seed_mean(frame: pd.DataFrame) -> pd.Series:
    """(scale, step) → seed-mean λ, from rows of one operator."""
    return frame.groupby(["width", "depth", "step"])["value"].mean()


def _spread(param: str, operator: str, mode: str, lr: float | None, rows: pd.DataFrame) -> Consistency:
    if rows.empty:
        return Consistency(param, operator, mode, lr, [], [], [], None, "no probes of this operator")
    table = _seed_mean(rows).unstack("step")
    scales = [(int(w), int(d)) for w, d in table.index]
    if len(scales) < 2:
        return Consistency(param, operator, mode, lr, scales, [], [], None,
                           "needs probes at 2 or more scales")
    table = table.dropna(axis=1)
    steps = [int(s) for s in table.columns]
    if not steps:
        return Consistency(param, operator, mode, lr, scales, [], [], None, "the scales share no probe step")
    values = table.to_numpy(dtype=float)
    mean = values.mean(axis=0)
    cv = [float(s / abs(m)) if m != 0 and math.isfinite(m) else math.nan
          for s, m in zip(values.std(axis=0, ddof=1), mean, strict=True)]
    return Consistency(param, operator, mode, lr, scales, steps, cv, cv[-1])


def super_consistency(trials: pd.DataFrame, metrics: pd.DataFrame, optima: list[Optimum]) -> list[Consistency]:
    """Per parameterization × operator × mode (see the module docstring).

    Args:
        trials: the sweep's trials (`Store.trials_frame`).
        metrics: their per-step metrics (`Store.metrics_frame`); rows named ``sharpness/<operator>`` are read.
        optima: the per-scale optima of the same trials (their grid argmins choose the LRs).
    """
    done = trials[trials["status"] == TrialState.COMPLETED.value]
    probes = metrics[metrics["name"].str.startswith("sharpness/")]
    if done.empty or probes.empty:
        return []
    probes = probes.assign(operator=probes["name"].str.split("/", n=1).str[1])
    joined = probes.merge(done[["id", *SCALE, "lr", "seed"]], left_on="trial_id", right_on="id")
    joined = joined[np.isfinite(joined["value"].astype(float))]
    joined["log2_lr"] = np.log2(joined["lr"].astype(float)).round(6)
    out = []
    for param, rows in joined.groupby("parameterization"):
        best = {(o.width, o.depth): round(o.grid_log2_lr, 6) for o in optima if o.parameterization == param}
        at_best = rows[[best.get((int(w), int(d))) == x for w, d, x in
                        zip(rows["width"], rows["depth"], rows["log2_lr"], strict=True)]]
        mine = done[done["parameterization"] == param]
        n_scales = mine.groupby(["width", "depth"]).ngroups
        finished = mine.assign(log2_lr=np.log2(mine["lr"].astype(float)).round(6)).groupby("log2_lr").apply(
            lambda g: g.groupby(["width", "depth"]).ngroups, include_groups=False)
        common = [float(x) for x, n in finished.items() if n == n_scales]
        fixed = None
        if common and best:
            target = float(np.median(list(best.values())))
            fixed = min(common, key=lambda x: (abs(x - target), x))
        for operator in sorted(rows["operator"].unique()):
            out.append(_spread(str(param), operator, "best-lr", None, at_best[at_best["operator"] == operator]))
            if fixed is None:
                out.append(Consistency(str(param), operator, "fixed-lr", None, [], [], [], None,
                                       "no LR finished (without diverging) at every scale"))
            else:
                same = rows[(rows["operator"] == operator) & (rows["log2_lr"] == fixed)]
                out.append(_spread(str(param), operator, "fixed-lr", 2.0 ** fixed, same))
    return out

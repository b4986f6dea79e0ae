"""The optimal LR at each scale: a sub-grid estimate with a 95% interval and flags.

Per (parameterization, width, depth), the seed-mean final held-out loss against log2 LR
(`sweeps.analysis.curves`). A parabola through the grid argmin and its neighbours gives a sub-grid
optimum; a bootstrap over seeds gives a 95% interval (one seed: ± half a grid step, the grid's
resolution). Diverged trials count as +∞, never as missing. Flags: ``edge`` (argmin at the end of
the grid: the optimum may lie outside), ``flat`` (neighbours within ``flat_tol`` of the minimum:
too flat to call), ``diverged`` (more than ``max_diverged`` of the LRs diverged), ``single-seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweeps.analysis.curves import SCALE, loss_points


def _vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Sub-grid optimum: parabola through the argmin and its finite neighbours, clipped to them."""
    i = int(np.argmin(y))
    lo, hi = max(i - 1, 0), min(i + 2, len(x))
    xs, ys = x[lo:hi], y[lo:hi]
    keep = np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(xs) < 3:
        return float(x[i])
    a, b, _ = np.polyfit(xs, ys, 2)
    if a <= 0:
        return float(x[i])
    return float(np.clip(-b / (2 * a), xs.min(), xs.max()))


@dataclass(frozen=True)
class Optimum:
    """The optimal LR of one scale (log2 units), with its 95% interval and flags."""

    parameterization: str
    width: int
    depth: int
    log2_lr: float             # sub-grid estimate of log2 η*
    low: float                 # 95% interval, log2
    high: float
    loss: float                # seed-mean loss at the grid argmin
    grid_log2_lr: float        # the grid argmin
    n_seeds: int
    flags: tuple[str, ...] = ()

    @property
    def lr(self) -> float:
        return 2.0 ** self.log2_lr


def _estimate(table: pd.DataFrame) -> float:
    """table: rows = seeds, columns = log2 LR (sorted); seed-mean curve → sub-grid optimum."""
    curve = table.mean(axis=0).to_numpy()
    return _vertex(table.columns.to_numpy(dtype=float), curve)


def optimal_lr_per_scale(trials: pd.DataFrame, *, n_boot: int = 300, flat_tol: float = 0.005,
                         max_diverged: float = 0.5, seed: int = 0) -> list[Optimum]:
    """The optimum per (parameterization, width, depth); see the module docstring.

    Args:
        trials: the sweep's trials (`Store.trials_frame`).
        n_boot: bootstrap resamples over seeds.
        flat_tol: relative loss difference under which the curve is called flat at its minimum.
        max_diverged: fraction of diverged LRs above which the scale is flagged.
        seed: RNG seed of the bootstrap.

    Returns:
        One `Optimum` per scale with at least one finite loss, sorted by scale.
    """
    points = loss_points(trials)
    rng = np.random.default_rng(seed)
    out = []
    for (param, width, depth), group in points.groupby(SCALE):
        table = group.pivot_table(index="seed", columns="log2_lr", values="loss", aggfunc="mean").sort_index(axis=1)
        curve = table.mean(axis=0)
        if not np.isfinite(curve).any():
            continue
        x = curve.index.to_numpy(dtype=float)
        i = int(np.argmin(curve.to_numpy()))
        estimate = _estimate(table)
        n = len(table)
        if n >= 2:
            boots = [_estimate(table.iloc[rng.integers(0, n, n)]) for _ in range(n_boot)]
            low, high = np.percentile(boots, [2.5, 97.5])
        else:
            step = float(np.min(np.diff(x))) if len(x) > 1 else 1.0
            low, high = estimate - step / 2, estimate + step / 2
        flags = []
        if i == 0 or i == len(x) - 1:
            flags.append("edge")
        best = curve.iloc[i]
        neighbours = [curve.iloc[j] for j in (i - 1, i + 1) if 0 <= j < len(x)]
        if neighbours and all(math.isfinite(v) and (v - best) <= flat_tol * abs(best) for v in neighbours):
            flags.append("flat")
        if (~np.isfinite(curve)).mean() > max_diverged:
            flags.append("diverged")
        if n == 1:
            flags.append("single-seed")
        out.append(Optimum(param, int(width), int(depth), estimate, float(min(low, estimate)),
                           float(max(high, estimate)), float(best), float(x[i]), n, tuple(flags)))
    return out



"""The optimal LR at each scale: a sub-grid estimate with a calibrated 95% interval and flags.

Per (parameterization, width, depth) the data are each seed's final held-out loss against log2 LR
(`sweeps.analysis.curves`); a diverged trial is +∞ there, never missing.

Estimate. Each seed's curve gets its own sub-grid vertex: a parabola through that seed's argmin and
its two neighbours, clipped to them. The scale's estimate is the mean of its seeds' vertices.

Interval (95%, log2 units). Where the optimum lies for one seed and where it lies on average are
different questions: seeds move the vertex (by ~½ octave in our sweeps), and the loss noise and the
flatness of the curve move each seed's estimate further. Both are in the scatter of the per-seed
vertices, so with n ≥ 2 seeds the standard error is s/√n, and the interval is a Student-t one:

* s² is *moderated*: the scale's own variance (n − 1 degrees of freedom) pooled with the variance of
  the two nearest scales (in log2 width + log2 depth) of the same parameterization, which count as at
  most ``prior_dof`` (4) degrees of freedom. Two seeds alone give 1 degree of freedom (t = 12.7);
  borrowing makes the interval usable without pretending the seeds were more. Only the nearest scales
  lend because seed scatter changes with scale (in our sweeps it shrinks with width: 0.3 octave at
  width 256, 0.07 at 1024); pooling all scales would make small scales overconfident.
* One seed at a scale: s from the other scales when they have seeds to compare; when the whole sweep
  has one seed, nothing measures the seed scatter, so ``seed_scatter`` (default ½ octave, the
  scatter we measure on our own sweeps) is assumed and the interval says so (method ``assumed``),
  added to the noise of the seed's own fit (a least-squares parabola over the argmin ± 2 grid
  points, propagated to its vertex).
* A floor tied to the grid: the interval is never narrower than ±⅛ of the local grid step (what a
  parabola through three grid points resolves), so no interval has zero width.

Edge optima (the seed-mean argmin at an end of the grid) get a half-open interval: bounded by the
grid's next point on the inside, unbounded (±∞) on the side the grid did not reach.

Flags: ``edge``, ``flat`` (neighbours within ``flat_tol`` of the minimum: too flat to call),
``diverged`` (more than ``max_diverged`` of the LRs diverged), ``single-seed``.

The interval's coverage is tested by simulation (tests/sweeps/test_calibration.py;
``bench/calibration.py`` prints it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sweeps.analysis.curves import SCALE, loss_points

Z95 = 1.959964
PRIOR_DOF = 4                 # the most degrees of freedom the other scales lend a scale's variance
NEIGHBOURS = 2                # the scales that lend: the nearest in size
SEED_SCATTER = 0.5            # octaves: assumed seed-to-seed scatter of the vertex when nothing measures it


@dataclass(frozen=True)
class Optimum:
    """The optimal LR of one scale (log2 units), with its 95% interval and flags.

    ``log2_low``/``log2_high`` are log2 LRs; -∞/+∞ on the open side of an edge optimum.
    ``method`` says how the interval was made: ``seeds`` (Student-t on the per-seed vertices, ``dof``
    degrees of freedom), ``pooled`` (one seed here, the scatter from the other scales), ``assumed``
    (one seed in the whole sweep: ``SEED_SCATTER`` assumed), ``edge`` (half-open).
    """

    parameterization: str
    width: int
    depth: int
    log2_lr: float             # sub-grid estimate of log2 η* (mean of the seeds' vertices)
    log2_low: float            # 95% interval, log2 LR
    log2_high: float
    sd: float                  # standard error of log2_lr, octaves (inf for an edge optimum)
    dof: float                 # degrees of freedom of the t quantile (inf: normal)
    method: str
    loss: float                # seed-mean loss at the grid argmin
    grid_log2_lr: float        # the grid argmin of the seed-mean curve
    n_seeds: int
    flags: tuple[str, ...] = ()

    @property
    def lr(self) -> float:
        return 2.0 ** self.log2_lr

    @property
    def width_octaves(self) -> float:
        """Width of the 95% interval in octaves (inf when half-open)."""
        return self.log2_high - self.log2_low


def _vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Sub-grid optimum of one curve: parabola through the argmin and its finite neighbours, clipped to them."""
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


def _fit_variance(x: np.ndarray, y: np.ndarray) -> float:
    """Variance of one curve's vertex from the residual noise of a least-squares parabola over argmin ± 2.

    0 when there are too few finite points (< 4) or the parabola opens downwards: the floors apply.
    """
    i = int(np.argmin(y))
    xs, ys = x[max(i - 2, 0):i + 3], y[max(i - 2, 0):i + 3]
    keep = np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(xs) < 4:
        return 0.0
    X = np.stack([xs ** 2, xs, np.ones_like(xs)], axis=1)
    beta, *_ = np.linalg.lstsq(X, ys, rcond=None)
    a, b = beta[0], beta[1]
    if a <= 0:
        return 0.0
    sigma2 = float(np.sum((ys - X @ beta) ** 2)) / (len(xs) - 3)
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    grad = np.array([b / (2 * a * a), -1 / (2 * a), 0.0])   # ∂(−b/2a)/∂(a, b, c)
    return float(grad @ cov @ grad)


@dataclass
class _Scale:
    key: tuple[str, int, int]
    x: np.ndarray               # log2 LR grid of the scale
    curve: np.ndarray           # seed-mean loss
    vertices: np.ndarray        # per seed
    fit_var: float              # one seed: its fit's vertex variance
    n: int

    @property
    def ss(self) -> float:
        return float(np.sum((self.vertices - self.vertices.mean()) ** 2)) if self.n > 1 else 0.0


def optimal_lr_per_scale(trials: pd.DataFrame, *, flat_tol: float = 0.005, max_diverged: float = 0.5,
                         seed_scatter: float = SEED_SCATTER, prior_dof: int = PRIOR_DOF) -> list[Optimum]:
    """The optimum per (parameterization, width, depth); see the module docstring.

    Args:
        trials: the sweep's trials (`Store.trials_frame`).
        flat_tol: relative loss difference under which the curve is called flat at its minimum.
        max_diverged: fraction of diverged LRs above which the scale is flagged.
        seed_scatter: octaves of seed-to-seed scatter assumed when no scale has two seeds.
        prior_dof: the most degrees of freedom the other scales lend one scale's variance.

    Returns:
        One `Optimum` per scale with at least one finite loss, sorted by scale.
    """
    points = loss_points(trials)
    scales: list[_Scale] = []
    for key, group in points.groupby(SCALE):
        table = group.pivot_table(index="seed", columns="log2_lr", values="loss", aggfunc="mean").sort_index(axis=1)
        curve = table.mean(axis=0).to_numpy()
        if not np.isfinite(curve).any():
            continue
        x = table.columns.to_numpy(dtype=float)
        rows = [row for row in table.to_numpy() if np.isfinite(row).any()]
        vertices = np.array([_vertex(x, np.where(np.isnan(r), np.inf, r)) for r in rows])
        fit_var = _fit_variance(x, np.where(np.isnan(rows[0]), np.inf, rows[0])) if len(rows) == 1 else 0.0
        scales.append(_Scale((str(key[0]), int(key[1]), int(key[2])), x, curve, vertices, fit_var, len(rows)))

    out = []
    for s in scales:
        others = [o for o in scales if o.key[0] == s.key[0] and o is not s and o.n > 1 and not _is_edge(o)]
        if s.n > 1:   # seed scatter changes with scale (it shrinks with width): borrow from the nearest scales only
            others = sorted(others, key=lambda o: abs(_size(o) - _size(s)))[:NEIGHBOURS]
        other_dof = sum(o.n - 1 for o in others)
        other_var = sum(o.ss for o in others) / other_dof if other_dof else math.nan
        out.append(_optimum(s, other_var, other_dof, flat_tol=flat_tol, max_diverged=max_diverged,
                            seed_scatter=seed_scatter, prior_dof=prior_dof))
    return out


def _size(s: _Scale) -> float:
    return math.log2(s.key[1]) + math.log2(s.key[2])


def _is_edge(s: _Scale) -> bool:
    i = int(np.argmin(s.curve))
    return i == 0 or i == len(s.x) - 1


def _optimum(s: _Scale, other_var: float, other_dof: int, *, flat_tol: float, max_diverged: float,
             seed_scatter: float, prior_dof: int) -> Optimum:
    x, curve, n = s.x, s.curve, s.n
    i = int(np.argmin(curve))
    estimate = float(s.vertices.mean())
    lend = min(other_dof, prior_dof)
    if n > 1:
        var = (s.ss + lend * (other_var if lend else 0.0)) / (n - 1 + lend)
        dof, method = float(n - 1 + lend), "seeds"
    elif other_dof:
        var, dof, method = other_var, float(other_dof), "pooled"
    else:
        var, dof, method = seed_scatter ** 2 + s.fit_var, math.inf, "assumed"
    steps = np.diff(x)
    near = steps[max(i - 1, 0):i + 1] if len(steps) else np.array([1.0])
    q = Z95 if math.isinf(dof) else float(stats.t.ppf(0.975, dof))
    floor = float(near.max()) / 8 / q                  # half-width ≥ 1/8 grid step: the parabola's resolution
    sd = max(math.sqrt(var / n), floor)
    low, high = estimate - q * sd, estimate + q * sd
    flags = []
    if i == 0 or i == len(x) - 1:
        flags.append("edge")
        method, sd, dof = "edge", math.inf, math.inf
        if len(x) == 1:
            low, high = -math.inf, math.inf
        elif i == 0:
            low, high = -math.inf, float(x[1])
        else:
            low, high = float(x[-2]), math.inf
    best = curve[i]
    neighbours = [curve[j] for j in (i - 1, i + 1) if 0 <= j < len(x)]
    if neighbours and all(math.isfinite(v) and (v - best) <= flat_tol * abs(best) for v in neighbours):
        flags.append("flat")
    if (~np.isfinite(curve)).mean() > max_diverged:
        flags.append("diverged")
    if n == 1:
        flags.append("single-seed")
    param, width, depth = s.key
    return Optimum(param, width, depth, estimate, float(low), float(high), float(sd), dof, method, float(best),
                   float(x[i]), n, tuple(flags))

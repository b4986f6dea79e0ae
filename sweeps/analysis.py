"""Transfer analysis: pure functions over the trials DataFrame of a sweep.

1. `optimal_lr_per_scale`: per (parameterization, width, depth), the seed-mean final held-out loss
   against log2 LR. A parabola through the grid argmin and its neighbours gives a sub-grid
   optimum; a bootstrap over seeds gives a 95% interval (one seed: ± half a grid step, the grid's
   resolution). Diverged trials count as +∞, never as missing. Flags: ``edge`` (argmin at the end
   of the grid: the optimum may lie outside), ``flat`` (neighbours within ``flat_tol`` of the
   minimum: too flat to call), ``diverged`` (more than ``max_diverged`` of the LRs diverged).
2. `fit_transfer_law`: log2 η* = c + a·log2(N/N0) + b·log2(L/L0) per parameterization, by weighted
   least squares (weights from the intervals), with 95% intervals for a and b. Edge-flagged optima
   are left out (their position is unknown), and say so in the provenance.
3. `verdict`: per axis, "transfers" when |drift| ≤ ``tolerance`` octaves per doubling (default ½),
   else "drifts x octaves per doubling of width/depth".
4. `predict`: η* at any (width, depth), with an interval and an extrapolation warning that grows
   with the number of doublings outside the swept range.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from paramz.errors import ConfigError

Z95 = 1.959964


def loss_points(trials: pd.DataFrame) -> pd.DataFrame:
    """Finished trials with a ``loss`` column: the final held-out loss, +∞ for diverged ones."""
    done = trials[trials["status"].isin(["completed", "diverged"])].copy()
    done["loss"] = done["final_eval_loss"].where(done["status"] == "completed", math.inf).astype(float)
    done.loc[~np.isfinite(done["loss"]), "loss"] = math.inf
    done["log2_lr"] = np.log2(done["lr"].astype(float))
    return done


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


@dataclass
class Optimum:
    parameterization: str
    width: int
    depth: int
    log2_lr: float             # sub-grid estimate of log2 η*
    low: float                 # 95% interval, log2
    high: float
    loss: float                # seed-mean loss at the grid argmin
    grid_log2_lr: float        # the grid argmin
    n_seeds: int
    flags: list[str] = field(default_factory=list)

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
    for (param, width, depth), group in points.groupby(["parameterization", "width", "depth"]):
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
                           float(max(high, estimate)), float(best), float(x[i]), n, flags))
    return out


@dataclass
class TransferFit:
    parameterization: str
    base_width: int
    base_depth: int
    c: float                        # log2 η* at the base shape
    a: float                        # octaves of η* per doubling of width
    b: float                        # octaves of η* per doubling of depth
    cov: list[list[float]]          # covariance of (c, a, b); zeros for an axis not swept
    widths: tuple[int, int]         # swept range
    depths: tuple[int, int]
    used: list[tuple[int, int]]     # (width, depth) of the optima in the fit
    left_out: list[tuple[int, int, str]]

    def interval(self, name: str) -> tuple[float, float]:
        k = "cab".index(name)
        value, sd = getattr(self, name), math.sqrt(self.cov[k][k])
        return value - Z95 * sd, value + Z95 * sd


def fit_transfer_law(optima: list[Optimum], base_width: int, base_depth: int, *,
                     min_sd: float = 0.1) -> dict[str, TransferFit]:
    """Weighted least squares of log2 η* on log2(N/N0), log2(L/L0), per parameterization.

    Args:
        optima: from `optimal_lr_per_scale`.
        base_width, base_depth: N0, L0.
        min_sd: floor of a point's standard deviation, in octaves (a grid argmin is never exact).

    Returns:
        ``{parameterization: TransferFit}`` for every parameterization with ≥ 2 usable optima.
    """
    fits = {}
    for param in sorted({o.parameterization for o in optima}):
        rows = [o for o in optima if o.parameterization == param]
        used = [o for o in rows if "edge" not in o.flags]
        left = [(o.width, o.depth, "edge of grid") for o in rows if "edge" in o.flags]
        if len(used) < 2:
            continue
        y = np.array([o.log2_lr for o in used])
        sd = np.array([max((o.high - o.low) / (2 * Z95), min_sd) for o in used])
        cols = [np.ones(len(used)), np.log2([o.width / base_width for o in used]),
                np.log2([o.depth / base_depth for o in used])]
        active = [0] + [k for k in (1, 2) if np.ptp(cols[k]) > 0]
        X = np.stack([cols[k] for k in active], axis=1)
        w = 1 / sd ** 2
        xtwx = X.T @ (X * w[:, None])
        beta = np.linalg.solve(xtwx, X.T @ (w * y))
        cov = np.linalg.inv(xtwx)
        dof = len(used) - len(active)
        if dof > 0:  # scatter beyond the intervals widens the coefficient intervals, never narrows them
            chi2 = float(np.sum(w * (y - X @ beta) ** 2)) / dof
            cov = cov * max(1.0, chi2)
        full_beta, full_cov = np.zeros(3), np.zeros((3, 3))
        for i, k in enumerate(active):
            full_beta[k] = beta[i]
            for j, m in enumerate(active):
                full_cov[k, m] = cov[i, j]
        fits[param] = TransferFit(param, base_width, base_depth, *map(float, full_beta), full_cov.tolist(),
                                  (min(o.width for o in rows), max(o.width for o in rows)),
                                  (min(o.depth for o in rows), max(o.depth for o in rows)),
                                  [(o.width, o.depth) for o in used], left)
    return fits


def verdict(fit: TransferFit, tolerance: float = 0.5) -> dict[str, str]:
    """Per swept axis: "transfers" or "drifts x octaves per doubling of width/depth"."""
    out = {}
    for axis, name, rng in (("width", "a", fit.widths), ("depth", "b", fit.depths)):
        if rng[0] == rng[1]:
            continue
        slope = getattr(fit, name)
        low, high = fit.interval(name)
        if abs(slope) <= tolerance:
            out[axis] = f"transfers ({slope:+.2f} octaves per doubling of {axis}, 95% [{low:+.2f}, {high:+.2f}])"
        else:
            out[axis] = (f"drifts {slope:+.2f} octaves per doubling of {axis} (95% [{low:+.2f}, {high:+.2f}]; "
                         f"tolerance ±{tolerance})")
    return out


def predict(fit: TransferFit, width: int, depth: int) -> dict[str, object]:
    """η* at (width, depth) with a 95% interval, provenance and an extrapolation warning.

    Raises:
        ConfigError: width or depth not positive.
    """
    if width <= 0 or depth <= 0:
        raise ConfigError(f"width, depth: must be positive, got {width}, {depth}")
    x = np.array([1.0, math.log2(width / fit.base_width), math.log2(depth / fit.base_depth)])
    mean = float(x @ np.array([fit.c, fit.a, fit.b]))
    sd = math.sqrt(max(float(x @ np.array(fit.cov) @ x), 0.0))
    warnings = []
    for axis, value, (lo, hi) in (("width", width, fit.widths), ("depth", depth, fit.depths)):
        outside = math.log2(lo / value) if value < lo else math.log2(value / hi) if value > hi else 0.0
        if outside > 0:
            warnings.append(f"extrapolating {outside:.1f} doublings of {axis} beyond the swept range {lo}–{hi}; "
                            "the interval assumes the fitted law holds out there")
        if axis == "depth" and lo == hi and value != lo:
            warnings.append(f"depth {value} was never swept (only {lo}); the depth exponent is taken as 0")
    return {"lr": 2.0 ** mean, "log2_lr": mean, "low": 2.0 ** (mean - Z95 * sd), "high": 2.0 ** (mean + Z95 * sd),
            "warnings": warnings, "provenance": {"parameterization": fit.parameterization, "fit": asdict(fit)}}

"""How the optimum moves with scale: the transfer law, its verdict, and predictions at unseen scales.

1. `fit_transfer_law`: log2 η* = c + a·log2(N/N0) + b·log2(L/L0) per parameterization, by weighted
   least squares (weights from the intervals), with 95% intervals for a and b. Edge-flagged optima
   are left out (their position is unknown), and say so in the provenance.
2. `verdict`: per axis, "transfers" when |drift| ≤ ``tolerance`` octaves per doubling (default ½),
   else "drifts x octaves per doubling of width/depth".
3. `predict`: η* at any (width, depth), with an interval and an extrapolation warning that grows
   with the number of doublings outside the swept range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from paramz.errors import ConfigError
from sweeps.analysis.optimum import Optimum

Z95 = 1.959964


@dataclass(frozen=True)
class TransferFit:
    """The fitted law of one parameterization: log2 η* = c + a·log2(N/N0) + b·log2(L/L0)."""

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
        c, a, b = (float(v) for v in full_beta)
        fits[param] = TransferFit(param, base_width, base_depth, c, a, b, full_cov.tolist(),
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


@dataclass(frozen=True)
class Prediction:
    """η* at one scale from one fitted law: the LR, its 95% interval (plain LRs) and what it rests on."""

    parameterization: str
    width: int
    depth: int
    lr: float
    log2_lr: float
    lr_low: float
    lr_high: float
    warnings: tuple[str, ...]
    fit: TransferFit


def predict(fit: TransferFit, width: int, depth: int) -> Prediction:
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
    return Prediction(fit.parameterization, width, depth, 2.0 ** mean, mean, 2.0 ** (mean - Z95 * sd),
                      2.0 ** (mean + Z95 * sd), tuple(warnings), fit)

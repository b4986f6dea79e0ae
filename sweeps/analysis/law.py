"""How the optimum moves with scale: the transfer law, its verdict, and predictions at unseen scales.

1. `fit_transfer_law`: log2 η* = c + a·log2(N/N0) + b·log2(L/L0) per parameterization, by weighted
   least squares on the per-scale optima (`sweeps.analysis.optimum`).
   * Weights: 1/sd², the sd read off each optimum's 95% interval, floored at ``min_sd`` and at half
     the median sd, so no single point outweighs a typical one more than fourfold.
   * Scatter beyond the points' own intervals (χ²/dof > 1) widens the coefficient intervals, with a
     Student-t quantile on the residual degrees of freedom; it never narrows them.
   * Edge optima are left out (their position is unknown), each with its reason.
   * Leverage: with 4 or more optima every point is left out in turn. A point whose removal moves a
     slope by more than half that slope's 95% interval is *influential* and noted. A point that sits
     off the law fitted to the others beyond a Bonferroni bound (1% over all points, at least 3 sd) is
     an *outlier* and left out (one at most, with its reason): wherever it sits it widens every
     interval, and a point mid-range moves no slope.
   * Pre-asymptotic check: on an axis with 4 or more distinct values, the slope over the largest
     half of them (at least 3) is compared with the global one (a Hausman test: the difference over
     the square root of the difference of variances). When they disagree beyond 95%, the drift is not
     the same at small and large scales: the fit says so, and predictions come from the largest scales.
2. `verdict`: per axis, three-valued on the whole 95% interval of the slope: ``transfers`` when it lies
   inside ±tolerance, ``drifts`` when it lies wholly outside, else ``inconclusive``, with what would
   settle it. The default tolerance, ``TOLERANCE`` = 1/3 octave per doubling, is one octave over 8×:
   the μP and CompleteP papers call an optimum stable when it moves by about one octave (a factor 2)
   over 8–16× of width or depth.
3. `predict`: η* at any (width, depth), with its interval, the scales it rests on, and warnings
   (extrapolation, pre-asymptotic).
4. `no_law_reason`: why a parameterization has no law (which scales were left out and why).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from paramz.errors import ConfigError
from sweeps.analysis.optimum import Z95, Optimum

TOLERANCE = 1 / 3               # octaves per doubling still called "transfers": one octave over 8×
AXES = (("width", "a", 1), ("depth", "b", 2))


@dataclass(frozen=True)
class Shift:
    """A slope over the largest scales of one axis that disagrees with the global slope."""

    axis: str
    slope: float                    # octaves per doubling over the largest scales
    low: float
    high: float
    global_slope: float
    z: float                        # the Hausman statistic
    values: tuple[int, ...]         # the largest values of the axis the local slope rests on


@dataclass(frozen=True)
class TransferFit:
    """The fitted law of one parameterization: log2 η* = c + a·log2(N/N0) + b·log2(L/L0)."""

    parameterization: str
    base_width: int
    base_depth: int
    c: float                        # log2 η* at the base shape
    a: float                        # octaves of η* per doubling of width
    b: float                        # octaves of η* per doubling of depth
    cov: list[list[float]]          # covariance of (c, a, b); zeros for an axis not fitted
    quantile: float                 # of the 95% intervals: z, or Student-t when scatter widened them
    dof: int                        # residual degrees of freedom
    chi2: float                     # χ²/dof of the residuals against the points' own sd (nan when dof = 0)
    widths: tuple[int, int]         # swept range
    depths: tuple[int, int]
    used: list[tuple[int, int]]     # (width, depth) of the optima in the fit
    left_out: list[tuple[int, int, str]]
    influential: list[tuple[int, int, str]] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    local: TransferFit | None = None  # the fit on the largest scales when a shift was found

    def interval(self, name: str) -> tuple[float, float]:
        k = "cab".index(name)
        value, sd = getattr(self, name), math.sqrt(self.cov[k][k])
        return value - self.quantile * sd, value + self.quantile * sd

    def fitted(self, axis: str) -> bool:
        """Whether the law has a slope for ``axis`` (its used optima span two or more values)."""
        k = 1 if axis == "width" else 2
        return self.cov[k][k] > 0


def _design(optima: Sequence[Optimum], base_width: int, base_depth: int) -> np.ndarray:
    return np.stack([np.ones(len(optima)), np.log2([o.width / base_width for o in optima]),
                     np.log2([o.depth / base_depth for o in optima])], axis=1)


def _sd(o: Optimum) -> float:
    return (o.log2_high - o.log2_low) / (2 * Z95)


@dataclass(frozen=True)
class _WLS:
    beta: np.ndarray                # (c, a, b), zero for an inactive column
    cov: np.ndarray                 # 3×3
    quantile: float
    dof: int
    chi2: float


def _wls(X: np.ndarray, y: np.ndarray, sd: np.ndarray) -> _WLS:
    active = [0] + [k for k in (1, 2) if np.ptp(X[:, k]) > 0]
    Xa = X[:, active]
    w = 1 / sd ** 2
    xtwx = Xa.T @ (Xa * w[:, None])
    beta_a = np.linalg.solve(xtwx, Xa.T @ (w * y))
    cov_a = np.linalg.inv(xtwx)
    dof = len(y) - len(active)
    chi2, quantile = math.nan, Z95
    if dof > 0:
        chi2 = float(np.sum(w * (y - Xa @ beta_a) ** 2)) / dof
        if chi2 > 1:   # scatter beyond the points' intervals: widen, with the t of the residual dof
            cov_a, quantile = cov_a * chi2, float(stats.t.ppf(0.975, dof))
    beta, cov = np.zeros(3), np.zeros((3, 3))
    beta[active] = beta_a
    cov[np.ix_(active, active)] = cov_a
    return _WLS(beta, cov, quantile, dof, chi2)


def _weights(used: Sequence[Optimum], min_sd: float) -> np.ndarray:
    sd = np.array([_sd(o) for o in used])
    return np.maximum(sd, max(min_sd, 0.5 * float(np.median(sd))))


def _half_width(fit: _WLS, k: int) -> float:
    return fit.quantile * math.sqrt(fit.cov[k, k])


def _leverage(used: list[Optimum], base_width: int, base_depth: int, min_sd: float,
              full: _WLS) -> tuple[int | None, list[tuple[int, int, str]], str]:
    """Leave-one-out: (index of the outlier to drop or None, influential notes, the outlier's reason).

    Influential: removing the point moves a slope by more than half its 95% interval. Outlier: the
    point lies off the law of the others by more than a Bonferroni bound (1% over all points, at
    least 3 sd); a point in the middle of the range moves no slope but still widens every interval.
    """
    X, y = _design(used, base_width, base_depth), np.array([o.log2_lr for o in used])
    sd = _weights(used, min_sd)
    bound = max(3.0, float(stats.norm.ppf(1 - 0.01 / (2 * len(used)))))
    notes, worst, worst_z, worst_reason = [], None, bound, ""
    for j, o in enumerate(used):
        keep = np.arange(len(used)) != j
        loo = _wls(X[keep], y[keep], sd[keep])
        moved = []
        for axis, _, k in AXES:
            if full.cov[k, k] > 0 and loo.cov[k, k] > 0:
                delta = full.beta[k] - loo.beta[k]
                if abs(delta) > _half_width(full, k) / 2:
                    moved.append(f"the {axis} slope by {delta:+.2f}")
        pred_var = float(X[j] @ loo.cov @ X[j])
        z = (y[j] - float(X[j] @ loo.beta)) / math.sqrt(sd[j] ** 2 + pred_var)
        off = f"{y[j] - float(X[j] @ loo.beta):+.2f} octaves ({z:+.1f} sd) off the law of the others"
        if abs(z) > worst_z:
            worst, worst_z = j, abs(z)
            worst_reason = f"outlier: {off}" + (f"; it moved {' and '.join(moved)}" if moved else "")
        if moved:
            notes.append((o.width, o.depth, f"influential: moves {' and '.join(moved)} (more than half its 95% "
                                            f"interval); {off}"))
    return worst, notes, worst_reason


def _fit(param: str, rows: list[Optimum], used: list[Optimum], left: list[tuple[int, int, str]],
         base_width: int, base_depth: int, min_sd: float, *, checks: bool = True) -> TransferFit:
    X, y = _design(used, base_width, base_depth), np.array([o.log2_lr for o in used])
    fit = _wls(X, y, _weights(used, min_sd))
    influential: list[tuple[int, int, str]] = []
    if checks and len(used) >= 4:
        drop, influential, reason = _leverage(used, base_width, base_depth, min_sd, fit)
        if drop is not None and len(used) - 1 >= 3:
            out = used[drop]
            used = [o for j, o in enumerate(used) if j != drop]
            left = [*left, (out.width, out.depth, reason)]
            influential = [n for n in influential if (n[0], n[1]) != (out.width, out.depth)]
            X, y = _design(used, base_width, base_depth), np.array([o.log2_lr for o in used])
            fit = _wls(X, y, _weights(used, min_sd))
    c, a, b = (float(v) for v in fit.beta)
    result = TransferFit(param, base_width, base_depth, c, a, b, fit.cov.tolist(), fit.quantile, fit.dof,
                         fit.chi2, (min(o.width for o in rows), max(o.width for o in rows)),
                         (min(o.depth for o in rows), max(o.depth for o in rows)),
                         [(o.width, o.depth) for o in used], left, influential)
    if not checks:
        return result
    shifts, local_used = [], used
    for axis, name, k in AXES:
        values = sorted({getattr(o, axis) for o in used})
        if len(values) < 4 or not result.fitted(axis):
            continue
        top = values[-max(3, math.ceil(len(values) / 2)):]
        subset = [o for o in used if getattr(o, axis) in top]
        sub = _fit(param, rows, subset, left, base_width, base_depth, min_sd, checks=False)
        var_d = sub.cov[k][k] - result.cov[k][k]
        if var_d <= 0:
            var_d = sub.cov[k][k]
        z = (getattr(sub, name) - getattr(result, name)) / math.sqrt(var_d)
        if abs(z) > Z95:
            low, high = sub.interval(name)
            shifts.append(Shift(axis, getattr(sub, name), low, high, getattr(result, name), z, tuple(top)))
            local_used = [o for o in local_used if getattr(o, axis) in top]
    local = None
    if shifts:
        local = _fit(param, rows, local_used, left, base_width, base_depth, min_sd, checks=False)
    return replace(result, shifts=shifts, local=local)


def fit_transfer_law(optima: Sequence[Optimum], base_width: int, base_depth: int, *,
                     min_sd: float = 0.1) -> dict[str, TransferFit]:
    """The law per parameterization with 2 or more usable optima at distinct scales (module docstring).

    Args:
        optima: from `optimal_lr_per_scale`.
        base_width, base_depth: N0, L0.
        min_sd: floor of a point's standard deviation, octaves.
    """
    fits = {}
    for param in sorted({o.parameterization for o in optima}):
        rows = [o for o in optima if o.parameterization == param]
        used = [o for o in rows if "edge" not in o.flags]
        if len({(o.width, o.depth) for o in used}) < 2:
            continue
        left = [(o.width, o.depth, _edge_reason(o)) for o in rows if "edge" in o.flags]
        fits[param] = _fit(param, rows, used, left, base_width, base_depth, min_sd)
    return fits


def _edge_reason(o: Optimum) -> str:
    if math.isinf(o.log2_low) and math.isinf(o.log2_high):
        return f"one LR only: 2^{o.grid_log2_lr:g} is the only LR with a finite loss at this scale; run more LRs"
    side = "below" if math.isinf(o.log2_low) else "above"
    return f"edge of the LR grid: the best LR is the grid's {'lowest' if side == 'below' else 'highest'} " \
           f"(2^{o.grid_log2_lr:g}); η* may lie {side} it; widen the grid"


def no_law_reason(param: str, optima: Sequence[Optimum]) -> str:
    """Why ``param`` has no law: which scales it has and why they cannot be used."""
    rows = [o for o in optima if o.parameterization == param]
    if not rows:
        return "no scale has a finished trial with a finite loss yet"
    used = [o for o in rows if "edge" not in o.flags]
    parts = [f"{o.width}×{o.depth}: {_edge_reason(o)}" for o in rows if "edge" in o.flags]
    head = (f"a law needs usable optima at 2 or more scales; {len(used)} of {len(rows)} "
            f"scale{'s' if len(rows) != 1 else ''} usable")
    return head + (f" ({'; '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class Verdict:
    """What the law says about one axis: transfers / drifts / inconclusive, judged on the whole interval."""

    axis: str
    outcome: str                    # "transfers" | "drifts" | "inconclusive"
    slope: float | None             # octaves per doubling (None: no law)
    low: float | None               # its 95% interval
    high: float | None
    tolerance: float                # octaves per doubling
    text: str
    settle: tuple[str, ...] = ()    # what would settle an inconclusive verdict


def _settle(fit: TransferFit, axis: str, rows: Sequence[Optimum]) -> tuple[str, ...]:
    out = []
    for s in fit.shifts:
        if s.axis == axis:
            out.append(f"the drift sits at the small {axis}s: over {s.values[0]}–{s.values[-1]} the slope is "
                       f"{s.slope:+.2f} [{s.low:+.2f}, {s.high:+.2f}]; sweep from {s.values[0]} up (or larger) to "
                       "judge the regime you transfer in")
    edges = [(w, d) for w, d, why in fit.left_out if why.startswith("edge")]
    if edges:
        out.append(f"a wider LR grid: {len(edges)} optim{'a' if len(edges) > 1 else 'um'} at the grid's edge "
                   f"({', '.join(f'{w}×{d}' for w, d in edges)}) could not be used")
    seeds = min((o.n_seeds for o in rows), default=0)
    if seeds < 5:
        out.append(f"more seeds (now {seeds} per scale; the interval of each optimum shrinks as 1/√seeds)")
    lo, hi = fit.widths if axis == "width" else fit.depths
    n = len({w if axis == "width" else d for w, d in fit.used})
    if n < 5 or hi / lo < 16:
        out.append(f"more scales along {axis} (now {n} over {hi / lo:g}×; the slope's interval shrinks with "
                   "the spread of log2 scale)")
    return tuple(out) or ("more seeds and scales: the interval straddles the tolerance",)


def verdict(fit: TransferFit, tolerance: float = TOLERANCE, optima: Sequence[Optimum] = ()) -> dict[str, Verdict]:
    """Per swept axis (see the module docstring); ``optima`` (the fit's) say what would settle it."""
    out = {}
    rows = [o for o in optima if o.parameterization == fit.parameterization]
    for axis, name, _ in AXES:
        rng = fit.widths if axis == "width" else fit.depths
        if rng[0] == rng[1]:
            continue
        if not fit.fitted(axis):
            out[axis] = Verdict(axis, "inconclusive", None, None, None, tolerance,
                                f"inconclusive: the usable optima span one {axis} only; no {axis} slope",
                                _settle(fit, axis, rows))
            continue
        slope = getattr(fit, name)
        low, high = fit.interval(name)
        settle: tuple[str, ...] = ()
        span = f"{slope:+.2f} octaves per doubling of {axis}, 95% [{low:+.2f}, {high:+.2f}], tolerance ±{tolerance:.2f}"
        if -tolerance <= low and high <= tolerance:
            outcome, text = "transfers", f"transfers ({span})"
            if low > 0 or high < 0:   # within the tolerance, yet resolved from zero: say how far it moves
                ratio = rng[1] / rng[0]
                text += (f"; not zero: η* moves {slope * math.log2(ratio):+.2f} octaves over the swept {ratio:g}× "
                         f"(the law's predictions include it)")
        elif low > tolerance or high < -tolerance:
            outcome, text = "drifts", f"drifts ({span})"
        else:
            settle = _settle(fit, axis, rows)
            outcome, text = "inconclusive", f"inconclusive ({span}: the interval straddles the tolerance)"
        shifted = [s for s in fit.shifts if s.axis == axis]
        if shifted:
            s = shifted[0]
            text += (f"; pre-asymptotic: over {axis}s {s.values[0]}–{s.values[-1]} the slope is {s.slope:+.2f} "
                     f"[{s.low:+.2f}, {s.high:+.2f}]")
        out[axis] = Verdict(axis, outcome, slope, low, high, tolerance, text, settle)
    return out


def no_law_verdict(reason: str, axes: Sequence[str], tolerance: float = TOLERANCE) -> dict[str, Verdict]:
    """The verdict of a parameterization without a law: inconclusive on each swept axis, with the reason."""
    return {axis: Verdict(axis, "inconclusive", None, None, None, tolerance, f"inconclusive: no law ({reason})",
                          ("a wider LR grid or more scales",)) for axis in axes}


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
    rests_on: list[tuple[int, int]]   # the (width, depth) optima of the law used
    warnings: tuple[str, ...]
    fit: TransferFit


def predict(fit: TransferFit, width: int, depth: int) -> Prediction:
    """η* at (width, depth) with a 95% interval, the scales it rests on, and warnings.

    A fit with a pre-asymptotic shift predicts from its largest scales (``fit.local``).

    Raises:
        ConfigError: width or depth not positive.
    """
    if width <= 0 or depth <= 0:
        raise ConfigError(f"width, depth: must be positive, got {width}, {depth}")
    warnings = []
    law = fit
    if fit.local is not None:
        law = fit.local
        for s in fit.shifts:
            warnings.append(f"pre-asymptotic in {s.axis}: over {s.axis}s {s.values[0]}–{s.values[-1]} the slope is "
                            f"{s.slope:+.2f} against {s.global_slope:+.2f} over all; predicted from those largest "
                            "scales only")
    x = np.array([1.0, math.log2(width / law.base_width), math.log2(depth / law.base_depth)])
    mean = float(x @ np.array([law.c, law.a, law.b]))
    sd = math.sqrt(max(float(x @ np.array(law.cov) @ x), 0.0))
    for axis, value, (lo, hi) in (("width", width, fit.widths), ("depth", depth, fit.depths)):
        outside = math.log2(lo / value) if value < lo else math.log2(value / hi) if value > hi else 0.0
        if outside > 0:
            warnings.append(f"extrapolating {outside:.1f} doublings of {axis} beyond the swept range {lo}–{hi}; "
                            "the interval assumes the fitted law holds out there")
        if axis == "depth" and lo == hi and value != lo:
            warnings.append(f"depth {value} was never swept (only {lo}); the depth exponent is taken as 0")
    half = law.quantile * sd
    return Prediction(fit.parameterization, width, depth, 2.0 ** mean, mean, 2.0 ** (mean - half),
                      2.0 ** (mean + half), list(law.used), tuple(warnings), fit)

"""The validation report's PNG figures (matplotlib, no display needed).

One colour per width or depth (viridis, the same value the same colour in every figure of a study),
one marker per parameterization; log axes where the quantity is a scale or an LR.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from sweeps.analysis.curves import loss_points  # noqa: E402
from sweeps.validation.run import OPERATORS, PredictionResult, StudyResult  # noqa: E402

MARKERS = {"sp": "s", "mup": "o", "depth-mup": "^", "completep": "D"}
OPERATOR_NAMES = {"raw": "λ_max of H", "lr": "λ_max of D·H (per-layer LR ratios)",
                  "adam": "λ_max of D/(√v̂+ε)·H (Adam)"}


def _axis(result: StudyResult) -> str:
    return "width" if result.study.claim in ("width", "sharpness") else "depth"


def _colours(values: list[int]) -> dict[int, tuple[float, ...]]:
    cmap = matplotlib.colormaps["viridis"]
    return {v: cmap(0.85 * i / max(len(values) - 1, 1)) for i, v in enumerate(sorted(values))}


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curves(result: StudyResult, path: Path) -> Path:
    """Seed-mean final loss against LR per scale, one panel per parameterization; ◆ the grid argmin."""
    axis = _axis(result)
    points = loss_points(result.trials)
    params = list(dict.fromkeys(p.label for p in result.spec.parameterizations))
    scales = sorted(points[axis].unique()) if len(points) else []
    colour = _colours([int(s) for s in scales])
    fig, axes = plt.subplots(1, len(params), figsize=(4.6 * len(params), 3.8), sharey=True, squeeze=False)
    finite = points["loss"][np.isfinite(points["loss"])] if len(points) else pd.Series(dtype=float)
    top = float(finite.quantile(0.98)) * 1.15 if len(finite) else 1.0
    for ax, param in zip(axes[0], params, strict=True):
        mine = points[points["parameterization"] == param]
        for scale in scales:
            rows = mine[mine[axis] == scale]
            if rows.empty:
                continue
            mean = rows.groupby("log2_lr")["loss"].mean()
            ok = mean[np.isfinite(mean)]
            ax.plot(ok.index, ok.to_numpy().clip(max=top), "-", marker=MARKERS.get(param, "o"), ms=4,
                    color=colour[int(scale)], label=f"{axis} {scale}")
            bad = mean[~np.isfinite(mean)]
            if len(bad):
                ax.plot(bad.index, [top] * len(bad), "x", color=colour[int(scale)], ms=7)
            if len(ok):
                ax.plot([ok.idxmin()], [ok.min()], "D", color=colour[int(scale)], ms=9, mec="black")
        ax.set_title(param)
        ax.set_xlabel("log2 learning rate")
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:.3g}")    # 2.2, not 2.2×10⁰
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("final held-out loss (seed mean; × diverged, ◆ best)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(result.study.title, fontsize=10)
    return _save(fig, path)


def optimum(result: StudyResult, path: Path) -> Path:
    """η* per scale with its 95% interval (an open side drawn to the grid's edge with an arrow) and the
    fitted law; parameterizations dodged so equal optima do not hide each other."""
    axis = _axis(result)
    report = result.report
    grid = [math.log2(lr) for lr in result.spec.lr.lrs()]
    params = list(dict.fromkeys(p.label for p in result.spec.parameterizations))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    base = result.spec.base_width if axis == "width" else result.spec.resolved_base_depth()
    scales = sorted({o.width if axis == "width" else o.depth for o in report.optima})
    cmap = matplotlib.colormaps["tab10"]
    for i, param in enumerate(params):
        dodge = (i - (len(params) - 1) / 2) * 0.06
        rows = [o for o in report.optima if o.parameterization == param]
        colour = cmap(i)
        for o in rows:
            x = math.log2(o.width if axis == "width" else o.depth) + dodge
            lo = max(o.log2_low, grid[0] - 0.5)
            hi = min(o.log2_high, grid[-1] + 0.5)
            ax.plot([x, x], [lo, hi], "-", color=colour, lw=1.5)
            for end, is_open in ((lo, not math.isfinite(o.log2_low)), (hi, not math.isfinite(o.log2_high))):
                ax.plot([x], [end], "v" if end == lo and is_open else "^" if is_open else "_", color=colour, ms=7)
            ax.plot([x], [o.log2_lr], MARKERS.get(param, "o"), color=colour, ms=7,
                    mfc="white" if o.method == "edge" else colour)
        fit = report.fits.get(param)
        verdict = report.verdicts.get(param, {}).get(axis)
        label = f"{param}: {verdict.outcome if verdict else 'no verdict'}"
        if fit is not None and scales:
            xs = np.linspace(math.log2(scales[0]), math.log2(scales[-1]), 20)
            slope = fit.a if axis == "width" else fit.b
            ax.plot(xs, fit.c + slope * (xs - math.log2(base)), "--", color=colour,
                    label=f"{label} ({slope:+.2f}/doubling)")
        else:
            ax.plot([], [], MARKERS.get(param, "o"), color=colour, label=label)
    ax.set_yticks(grid, [f"{g:g}" for g in grid])
    ax.set_ylim(grid[0] - 0.6, grid[-1] + 0.6)
    _scale_axes(ax, axis, scales, "log2 η* (95% interval; hollow: grid edge)", f"optimal LR against {axis}")
    return _save(fig, path)


def _scale_axes(ax: plt.Axes, axis: str, scales: list[int], ylabel: str, title: str) -> None:
    """A log2 scale axis ticked at the swept values, the labels, grid, legend and title."""
    ax.set_xticks([math.log2(s) for s in scales], [str(s) for s in scales])
    ax.set_xlabel(f"{axis} (log2 axis)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)


def best_loss(result: StudyResult, path: Path) -> Path:
    """Best (seed-mean, grid argmin) loss per scale with ±2 standard errors over seeds."""
    axis = _axis(result)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    cmap = matplotlib.colormaps["tab10"]
    params = list(dict.fromkeys(p.label for p in result.spec.parameterizations))
    scales: set[int] = set()
    for i, param in enumerate(params):
        rows = sorted((b for b in result.bests if b.parameterization == param),
                      key=lambda b: b.width if axis == "width" else b.depth)
        xs = [math.log2(b.width if axis == "width" else b.depth) + (i - 1) * 0.04 for b in rows]
        scales |= {b.width if axis == "width" else b.depth for b in rows}
        ax.errorbar(xs, [b.loss for b in rows], yerr=[2 * b.se if math.isfinite(b.se) else 0 for b in rows],
                    fmt="-" + MARKERS.get(param, "o"), color=cmap(i), capsize=3, label=param)
    _scale_axes(ax, axis, sorted(scales), "best final loss (±2 s.e. over seeds)", f"best loss against {axis}")
    return _save(fig, path)


def sharpness(result: StudyResult, path: Path) -> Path:
    """λ_max against step at each width's best LR (seed mean), rows parameterizations, columns operators."""
    report = result.report
    metrics = result.metrics
    best = {(o.parameterization, o.width, o.depth): round(o.grid_log2_lr, 6) for o in report.optima}
    trials = result.trials.assign(log2_lr=np.log2(result.trials["lr"].astype(float)).round(6))
    keep = trials[np.array([best.get((p, int(w), int(d))) == x for p, w, d, x in zip(
        trials["parameterization"], trials["width"], trials["depth"], trials["log2_lr"], strict=True)], dtype=bool)]
    joined = metrics.merge(keep[["id", "parameterization", "width", "seed"]], left_on="trial_id", right_on="id")
    operators = [op for op in OPERATORS if (metrics["name"] == f"sharpness/{op}").any()]
    params = list(dict.fromkeys(p.label for p in result.spec.parameterizations))
    colour = _colours(list(result.spec.widths))
    fig, axes = plt.subplots(len(params), max(len(operators), 1), figsize=(4.3 * max(len(operators), 1),
                                                                        3.0 * len(params)), squeeze=False)
    for r, param in enumerate(params):
        for c, op in enumerate(operators):
            ax = axes[r][c]
            rows = joined[(joined["parameterization"] == param) & (joined["name"] == f"sharpness/{op}")]
            for width, g in rows.groupby("width"):
                mean = g.groupby("step")["value"].mean()
                ax.plot(mean.index + 1, mean.to_numpy(), "-o", ms=3, color=colour[int(width)], label=f"width {width}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            for scale_axis in (ax.xaxis, ax.yaxis):      # 1-2-5 ticks labelled plainly, the minor ones not
                scale_axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                scale_axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                scale_axis.set_minor_formatter(NullFormatter())
            ax.grid(True, which="both", alpha=0.3)
            ax.set_title(f"{param}: {OPERATOR_NAMES[op]}", fontsize=9)
            if r == len(params) - 1:
                ax.set_xlabel("step + 1 (log axis)")
    if operators:
        axes[0][-1].legend(fontsize=7)
    fig.suptitle("sharpness at each width's best LR (seed mean over seeds)", fontsize=9)
    return _save(fig, path)


def prediction(results: list[PredictionResult], path: Path) -> Path:
    """Loss against LR at the predicted width: the predicted 95% interval shaded, the measured optimum
    with its interval above the curve."""
    fig, axes = plt.subplots(1, max(len(results), 1), figsize=(4.8 * max(len(results), 1), 3.8), squeeze=False)
    for ax, p in zip(axes[0], results, strict=False):
        points = loss_points(p.trials)
        ax.axvspan(math.log2(p.predicted.lr_low), math.log2(p.predicted.lr_high), color="tab:orange", alpha=0.2,
                   label="predicted 95%")
        ax.axvline(p.predicted.log2_lr, color="tab:orange", lw=1.5, label=f"predicted {p.predicted.log2_lr:+.2f}")
        finite = points[np.isfinite(points["loss"])]
        ax.plot(finite["log2_lr"], finite["loss"], ".", color="grey", alpha=0.6, label="each seed")
        mean = points.groupby("log2_lr")["loss"].mean()
        ax.plot(mean.index, mean.to_numpy(), "-o", color="tab:blue", ms=4, label="seed mean")
        if p.measured is not None and math.isfinite(p.measured.log2_lr):
            top = float(finite["loss"].max()) if len(finite) else 1.0
            lo = p.measured.log2_low if math.isfinite(p.measured.log2_low) else float(mean.index.min())
            hi = p.measured.log2_high if math.isfinite(p.measured.log2_high) else float(mean.index.max())
            ax.errorbar([p.measured.log2_lr], [top], xerr=[[p.measured.log2_lr - lo], [hi - p.measured.log2_lr]],
                        fmt="D", color="tab:blue", capsize=4, label=f"measured {p.measured.log2_lr:+.2f}")
        if p.base_log2_lr == p.base_log2_lr:
            ax.axvline(p.base_log2_lr, color="black", ls=":", lw=1, label="optimum at the base width")
        ax.set_title(f"{p.parameterization} at width {p.width}", fontsize=10)
        ax.set_xlabel("log2 learning rate")
        ax.set_ylabel("final held-out loss")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)

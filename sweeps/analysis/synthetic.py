"""Synthetic sweeps with a known answer: what the calibration tests and benches check the analysis on.

A seed's final loss at log2 LR x is

    loss = 1 + curvature · (x − v_s)² · (asymmetry when x > v_s)   times (1 + noise·ε)

where v_s = log2 η*(width, depth) + vertex_scatter·ξ_s is that seed's own optimum (ξ, ε standard
normal). The seeds' losses average to a curve whose optimum is log2 η*(width, depth) exactly (for
asymmetry 1), which is the truth an interval must cover. LRs above ``diverge_above`` diverge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd


def synthetic_trials(optimum: Callable[[int, int], float], *, grid: Sequence[float],
                     widths: Iterable[int] = (64,), depths: Iterable[int] = (2,), seeds: Iterable[int] = (0,),
                     vertex_scatter: float | Callable[[int, int], float] = 0.5, noise: float = 0.005,
                     curvature: float = 0.03,
                     asymmetry: float = 1.0, diverge_above: float | None = None, param: str = "p",
                     rng: np.random.Generator | None = None) -> pd.DataFrame:
    """A trials frame (the columns `optimal_lr_per_scale` reads) drawn from the model above.

    Args:
        optimum: (width, depth) → log2 η*.
        grid: log2 LRs.
        vertex_scatter: octaves of seed-to-seed scatter of the vertex (or (width, depth) → octaves).
        noise: relative loss noise per trial.
        curvature: loss rise per octave² away from the vertex.
        asymmetry: factor on the curvature above the vertex (large LRs hurt more).
        diverge_above: log2 LR above which trials diverge.
    """
    rng = rng or np.random.default_rng(0)
    rows = []
    for w in widths:
        for d in depths:
            for s in seeds:
                scatter = vertex_scatter(w, d) if callable(vertex_scatter) else vertex_scatter
                vertex = optimum(w, d) + scatter * rng.standard_normal()
                for x in grid:
                    k = curvature * (asymmetry if x > vertex else 1.0)
                    loss = (1 + k * (x - vertex) ** 2) * (1 + noise * rng.standard_normal())
                    diverged = diverge_above is not None and x > diverge_above
                    rows.append(dict(parameterization=param, width=w, depth=d, seed=s, lr=2.0 ** float(x),
                                     status="diverged" if diverged else "completed",
                                     final_eval_loss=None if diverged else float(loss)))
    return pd.DataFrame(rows)


def _lookup(truth: dict[int, float], width: int, depth: int) -> float:
    return truth[width]


@dataclass(frozen=True)
class Coverage:
    """How often the per-scale 95% intervals and the law's slope interval held the truth, over ``draws`` sweeps."""

    seeds: int
    intervals: int                  # per-scale intervals drawn
    covered: float                  # fraction holding the true optimum
    median_width: float             # octaves
    min_width: float
    slope_covered: float            # fraction of slope intervals holding the true slope


def coverage(n_seeds: int, *, draws: int = 100, widths: Sequence[int] = (64, 128, 256, 512, 1024),
             grid: Sequence[float] = tuple(np.arange(-16.0, -3.0, 1.0)), slope: float = -0.5,
             seed: int = 0, **model: Any) -> Coverage:
    """Draws ``draws`` synthetic sweeps (``model``: the keywords of `synthetic_trials`) with a random
    offset and the given slope, and counts how often the intervals cover the truth."""
    from sweeps.analysis.law import fit_transfer_law
    from sweeps.analysis.optimum import optimal_lr_per_scale

    rng = np.random.default_rng(seed)
    hits, slope_hits, spans = 0, 0, []
    for _ in range(draws):
        offset = rng.uniform(-10.5, -8.5)
        truth = {w: offset + slope * math.log2(w / widths[0]) for w in widths}
        trials = synthetic_trials(partial(_lookup, truth), grid=grid, widths=widths, seeds=range(n_seeds), rng=rng,
                                  **model)
        optima = optimal_lr_per_scale(trials)
        for o in optima:
            hits += o.log2_low <= truth[o.width] <= o.log2_high
            spans.append(o.width_octaves)
        low, high = fit_transfer_law(optima, widths[0], 2)["p"].interval("a")
        slope_hits += low <= slope <= high
    return Coverage(n_seeds, len(spans), hits / len(spans), float(np.median(spans)), float(np.min(spans)),
                    slope_hits / draws)

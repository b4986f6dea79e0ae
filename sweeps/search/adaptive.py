"""Adaptive LR search: per scale, bracket and refine log2 LR instead of running the full grid.

Per parameterization the scales (width, depth) are searched in increasing size, one after the
other, because each opens where the smaller ones point:
  * the first scale opens with a coarse grid (``coarse_step`` octaves) over the spec's LR range;
  * a later scale opens at the prediction of the transfer-law fit of the scales already done (with
    one done: its optimum) ± ``band`` octaves;
  * then, until the argmin is bracketed by tried LRs ``step`` octaves away on both sides (or by the
    range's bounds): an argmin at the edge of what was tried widens by ``coarse_step`` (alone: the
    argmin will likely move); otherwise a gap wider than ``step`` beside it is halved;
  * once bracketed, the scale is done when the 95% interval of `optimal_lr_per_scale` (the same
    estimate the report uses) is at most ``tolerance`` octaves wide, or when it rests on an assumed
    seed scatter (one seed in the whole sweep: more LRs cannot narrow it), or when the argmin sits at
    the bound of the spec's LR range. Otherwise (seed noise)
    Optuna's TPE sampler, told every point so far through ask/tell, proposes the next LR.
    ``max_points`` caps a scale in every case.
Every LR runs for every seed of the spec; LRs lie on a lattice of ``step`` octaves inside the spec's
LR range, so a rerun proposes the very same trials (same content-hash ids).

The search holds no state of its own: every decision is a function of the finished trials in the
store, so a killed search resumes from what finished and makes the same decisions. The
parameterizations advance together, so one batch holds work for every worker.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import optuna
import pandas as pd

from sweeps.analysis import fit_transfer_law, optimal_lr_per_scale, predict, seed_mean_curves
from sweeps.search.base import SearchStrategy
from sweeps.spec import ParamSpec, SearchSpec, SweepSpec, TrialConfig

EPS = 1e-6


class Lattice:
    """log2 LRs ``low + k·step`` inside [low, high]."""

    def __init__(self, low: float, high: float, step: float) -> None:
        self.low, self.step = low, step
        self.top = low + math.floor((high - low) / step + EPS) * step

    def snap(self, x: float) -> float:
        k = round((min(max(x, self.low), self.top) - self.low) / self.step)
        return round(self.low + k * self.step, 6)

    def coarse(self, step: float) -> list[float]:
        xs = [self.snap(self.low + k * step) for k in range(int((self.top - self.low) / step + EPS) + 1)]
        if self.top - xs[-1] > self.step / 2:
            xs.append(self.snap(self.top))
        return sorted(set(xs))


def _points(trials: pd.DataFrame) -> dict[float, float]:
    """log2 LR → seed-mean final loss (inf: diverged), over the finished trials of one scale."""
    curve = seed_mean_curves(trials)
    return {round(float(x), 6): float(y) for x, y in zip(curve["log2_lr"], curve["loss"], strict=True)}


def _bracket(points: dict[float, float], lattice: Lattice, search: SearchSpec) -> list[float]:
    """LRs that the bracketing rule still needs (empty when the argmin is bracketed at ``step``)."""
    xs = sorted(points)
    ys = np.array([points[x] for x in xs])
    i = int(np.argmin(ys))  # all diverged → the first, and the search widens towards smaller LRs
    if i == 0 and xs[0] > lattice.low + EPS:  # the argmin is at an edge of what was tried: widen, and only that
        return [lattice.snap(xs[0] - search.coarse_step)]
    if i == len(xs) - 1 and xs[-1] < lattice.top - EPS:
        return [lattice.snap(xs[-1] + search.coarse_step)]
    gaps = [(xs[i - 1], xs[i])] if i > 0 else []
    gaps += [(xs[i], xs[i + 1])] if i < len(xs) - 1 else []
    return [lattice.snap((a + b) / 2) for a, b in gaps if b - a > search.step + EPS]


def _ask(points: dict[float, float], tried: set[float], lattice: Lattice, search: SearchSpec) -> float | None:
    """One LR from Optuna's TPE, told every point so far; None when it only repeats tried ones."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dist = optuna.distributions.FloatDistribution(lattice.low, lattice.top, step=search.step)
    finite = [y for y in points.values() if math.isfinite(y)]
    cap = max(finite) + abs(max(finite)) if finite else 1e6  # diverged: worse than anything seen, but finite
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=search.seed))
    for x, y in sorted(points.items()):
        study.add_trial(optuna.trial.create_trial(params={"log2_lr": x}, distributions={"log2_lr": dist},
                                                  value=y if math.isfinite(y) else cap))
    for _ in range(16):
        trial = study.ask({"log2_lr": dist})
        x = lattice.snap(trial.params["log2_lr"])
        if x not in tried:
            return x
        study.tell(trial, points[x] if math.isfinite(points.get(x, math.inf)) else cap)
    return None


def next_lrs(trials: pd.DataFrame, opening: list[float], lattice: Lattice, search: SearchSpec,
             done: pd.DataFrame | None = None) -> list[float]:
    """The log2 LRs to run next at one scale, given its trials so far; empty when the scale is done.

    ``done``: the trials of the scales searched before (same parameterization); their seed scatter
    lends the interval degrees of freedom, as in the report.
    """
    tried = {round(math.log2(lr), 6) for lr in trials["lr"]} if len(trials) else set()
    if not tried:
        return opening
    if len(tried) >= search.max_points:
        return []
    points = _points(trials)
    if not points:  # every trial failed (not diverged): nothing to go on, and nothing to retry
        return []
    needs = [x for x in dict.fromkeys(_bracket(points, lattice, search)) if x not in tried]
    if needs:
        return needs[: search.max_points - len(tried)]
    here = (int(trials["width"].iloc[0]), int(trials["depth"].iloc[0]))
    both = trials if done is None or done.empty else pd.concat([done, trials])
    opt = next((o for o in optimal_lr_per_scale(both) if (o.width, o.depth) == here), None)
    # bracketed, so an edge optimum sits at the range's bound: nothing left to try
    if opt is None or opt.width_octaves <= search.tolerance + EPS or opt.method in ("assumed", "edge"):
        return []
    x = _ask(points, tried, lattice, search)
    return [] if x is None else [x]


def _opening(spec: SweepSpec, param: ParamSpec, width: int, depth: int, done: pd.DataFrame,
             lattice: Lattice) -> list[float]:
    """First LRs at a scale: a coarse grid at the first, the smaller scales' prediction ± band after."""
    search = spec.search
    assert search is not None
    optima = list(optimal_lr_per_scale(done)) if len(done) else []
    if not optima:
        return lattice.coarse(search.coarse_step)
    fit = fit_transfer_law(optima, spec.base_width, spec.resolved_base_depth()).get(param.label)
    centre = predict(fit, width, depth).log2_lr if fit else optima[-1].log2_lr
    return sorted({lattice.snap(centre + k * search.band) for k in (-1, 0, 1)})


def scales(spec: SweepSpec) -> list[tuple[int, int]]:
    """(width, depth) in increasing size: doublings from the base shape, then width."""
    def size(s: tuple[int, int]) -> tuple[float, int]:
        return math.log2(s[0] / spec.base_width) + math.log2(s[1] / spec.resolved_base_depth()), s[0]
    return sorted(product(spec.widths, spec.depths), key=size)


def plan(spec: SweepSpec, trials: pd.DataFrame) -> dict[tuple[str, int, int], list[float]]:
    """Per parameterization, its current scale and the log2 LRs to run there next (none: all done)."""
    search = spec.search
    assert search is not None
    lattice = Lattice(*spec.lr.log2_range(), search.step)
    out = {}
    for param in spec.parameterizations:
        mine = trials[trials["parameterization"] == param.label]
        done = mine.iloc[:0]
        for width, depth in scales(spec):
            here = mine[(mine["width"] == width) & (mine["depth"] == depth)]
            opening = [] if len(here) else _opening(spec, param, width, depth, done, lattice)
            lrs = next_lrs(here, opening, lattice, search, done)
            if lrs:
                out[(param.label, width, depth)] = lrs
                break
            done = pd.concat([done, here]) if len(done) else here
    return out


class AdaptiveSearch(SearchStrategy):
    """The adaptive LR search of the module docstring, as a search strategy (``search:`` in a spec)."""

    def __init__(self, spec: SweepSpec) -> None:
        if spec.search is None:
            raise ValueError("AdaptiveSearch needs a spec with `search:`")
        super().__init__(spec)
        self.params = {p.label: p for p in spec.parameterizations}

    def next_trials(self, trials: pd.DataFrame) -> list[TrialConfig]:
        known = set(trials["id"])
        configs = [TrialConfig.of(self.spec, self.params[label], width, depth, 2.0 ** x, seed)
                   for (label, width, depth), xs in plan(self.spec, trials).items() for x in xs
                   for seed in self.spec.seeds]
        return [c for c in configs if c.id not in known]

    @property
    def max_trials(self) -> int:
        return self.spec.n_trials

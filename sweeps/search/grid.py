"""The full grid: every parameterization × width × depth × LR × seed of the spec, once."""

from __future__ import annotations

import pandas as pd

from sweeps.search.base import SearchStrategy
from sweeps.spec import SweepSpec, TrialConfig


def expand(spec: SweepSpec) -> list[TrialConfig]:
    """Every trial of the grid, in a stable order (parameterization, width, depth, LR, seed)."""
    return [TrialConfig.of(spec, p, w, d, lr, seed) for p in spec.parameterizations for w in spec.widths
            for d in spec.depths for lr in spec.lr.lrs() for seed in spec.seeds]


class GridSearch(SearchStrategy):
    """Proposes every grid trial the sweep does not have yet: all of them at first, then none."""

    def next_trials(self, trials: pd.DataFrame) -> list[TrialConfig]:
        known = set(trials["id"])
        return [c for c in expand(self.spec) if c.id not in known]

    @property
    def max_trials(self) -> int:
        return self.spec.n_trials

"""Search strategies: which trials a sweep runs next (the grid, or the adaptive LR search).

`strategy_for(spec)` picks the spec's: `AdaptiveSearch` when it has ``search:``, else `GridSearch`.
"""

from __future__ import annotations

from sweeps.search.adaptive import AdaptiveSearch
from sweeps.search.base import SearchStrategy, no_trials
from sweeps.search.grid import GridSearch, expand
from sweeps.spec import SweepSpec


def strategy_for(spec: SweepSpec) -> SearchStrategy:
    """The spec's search strategy."""
    return AdaptiveSearch(spec) if spec.search is not None else GridSearch(spec)


__all__ = ["AdaptiveSearch", "GridSearch", "SearchStrategy", "expand", "no_trials", "strategy_for"]

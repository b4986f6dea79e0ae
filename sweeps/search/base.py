"""The search-strategy interface: which trials a sweep runs next.

The engine (`sweeps.run.engine`) knows nothing of grids or optimizers. It loops

    run the sweep's pending trials; then
    trials = strategy.next_trials(everything the store holds for the sweep)
    until that is empty: add them to the store, run them, record them

as Ray Tune's search algorithms and Optuna's samplers separate *what to try* from *running it*.

A strategy is stateless by contract: its answer is a function of the spec and of the trials passed
in (all of them, in any state). That is what makes a killed sweep resume to the same decisions,
and why a strategy must never propose a trial whose id is already in the frame (a cancelled or
failed trial is re-run by launching the sweep again, not by the strategy).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from sweeps.domain import TRIAL_COLUMNS
from sweeps.spec import SweepSpec, TrialConfig


def no_trials() -> pd.DataFrame:
    """The trials frame of a sweep that has none yet."""
    return pd.DataFrame(columns=list(TRIAL_COLUMNS))


class SearchStrategy(ABC):
    """Decides the next trials of one sweep from its trials so far (see the module docstring).

    Args:
        spec: the sweep's spec.
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec

    @abstractmethod
    def next_trials(self, trials: pd.DataFrame) -> list[TrialConfig]:
        """The trials to run next; empty when the search is done.

        Args:
            trials: every trial of the sweep so far (`sweeps.store.Store.trials_frame`), in any
                state; decisions may read only the finished ones.

        Returns:
            New trials (ids not in ``trials``), in the order they should run.
        """

    def first_trials(self) -> list[TrialConfig]:
        """The trials a new sweep is created with (stored in the same transaction as the sweep)."""
        return self.next_trials(no_trials())

    @property
    @abstractmethod
    def max_trials(self) -> int:
        """The most trials this search will run (the grid's size, or an adaptive search's budget)."""

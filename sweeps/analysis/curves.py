"""Loss against LR: the one aggregation of trials into curves that the report, REST and the search share.

A point is a trial's final held-out loss; a diverged trial is +∞ there, never missing (it says the
LR is too large). Per (parameterization, width, depth, LR) the curve takes the mean over seeds, so a
point where any seed diverged is +∞ as well.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sweeps.domain import TrialState

SCALE = ["parameterization", "width", "depth"]
_RESULT = [TrialState.COMPLETED.value, TrialState.DIVERGED.value]


def loss_points(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials with a result, with ``loss`` (final held-out loss, +∞ when diverged) and ``log2_lr``.

    Args:
        trials: a sweep's trials (`sweeps.store.Store.trials_frame`).
    """
    done = trials[trials["status"].isin(_RESULT)].copy()
    done["loss"] = done["final_eval_loss"].where(done["status"] == TrialState.COMPLETED.value, math.inf).astype(float)
    done.loc[~np.isfinite(done["loss"]), "loss"] = math.inf
    done["log2_lr"] = np.log2(done["lr"].astype(float))
    return done


def seed_mean_curves(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per (parameterization, width, depth, lr): ``log2_lr``, seed-mean ``loss`` and ``n_seeds``.

    Sorted by scale, then LR.
    """
    points = loss_points(trials)
    if points.empty:
        return pd.DataFrame(columns=[*SCALE, "lr", "log2_lr", "loss", "n_seeds"])
    grouped = points.groupby([*SCALE, "lr"])["loss"].agg(["mean", "count"]).reset_index()
    grouped = grouped.rename(columns={"mean": "loss", "count": "n_seeds"})
    grouped["log2_lr"] = np.log2(grouped["lr"].astype(float))
    return grouped.sort_values([*SCALE, "lr"]).reset_index(drop=True)[[*SCALE, "lr", "log2_lr", "loss", "n_seeds"]]


def loss_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean final loss, rows (parameterization, width, depth) × columns LR; +∞ diverged, NaN not run."""
    curves = seed_mean_curves(trials)
    if curves.empty:
        return pd.DataFrame()
    return curves.pivot_table(index=SCALE, columns="lr", values="loss", aggfunc="first")

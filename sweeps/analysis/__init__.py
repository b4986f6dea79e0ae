"""What a sweep says, as pure functions over its trials DataFrame (no store, no I/O).

    curves     loss vs LR per scale: the one seed-mean aggregation
    optimum    the optimal LR per scale, with its interval and flags
    law        the transfer law across scales, its verdict, predictions
    report     all of it composed once, as a typed `TransferReport`
    optuna_export  a sweep as Optuna studies (optuna-dashboard)
"""

from __future__ import annotations

from sweeps.analysis.curves import loss_points, loss_table, seed_mean_curves
from sweeps.analysis.law import Prediction, TransferFit, fit_transfer_law, predict, verdict
from sweeps.analysis.optimum import Optimum, optimal_lr_per_scale
from sweeps.analysis.report import Curve, CurvePoint, TransferReport, curves_of, transfer_report

__all__ = ["Curve", "CurvePoint", "Optimum", "Prediction", "TransferFit", "TransferReport", "curves_of",
           "fit_transfer_law", "loss_points", "loss_table", "optimal_lr_per_scale", "predict", "seed_mean_curves",
           "transfer_report", "verdict"]

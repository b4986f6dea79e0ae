"""What a sweep says, as pure functions over its trials DataFrame (no store, no I/O).

    curves     loss vs LR per scale: the one seed-mean aggregation
    optimum    the optimal LR per scale, with its interval and flags
    law        the transfer law across scales, its verdict, predictions
    consistency  the super-consistency statistic of the sharpness probes
    synthetic  sweeps with a known answer (what the calibration tests check)
    report     all of it composed once, as a typed `TransferReport`
    optuna_export  a sweep as Optuna studies (optuna-dashboard)
"""

from __future__ import annotations

from sweeps.analysis.consistency import Consistency, super_consistency
from sweeps.analysis.curves import loss_points, loss_table, seed_mean_curves
from sweeps.analysis.law import (
    TOLERANCE,
    Prediction,
    Shift,
    TransferFit,
    Verdict,
    fit_transfer_law,
    no_law_reason,
    predict,
    verdict,
)
from sweeps.analysis.optimum import Optimum, optimal_lr_per_scale
from sweeps.analysis.report import Curve, CurvePoint, TransferReport, curves_of, transfer_report

__all__ = ["TOLERANCE", "Consistency", "Curve", "CurvePoint", "Optimum", "Prediction", "Shift", "TransferFit",
           "TransferReport", "Verdict", "curves_of", "fit_transfer_law", "loss_points", "loss_table", "no_law_reason",
           "optimal_lr_per_scale", "predict", "seed_mean_curves", "super_consistency", "transfer_report", "verdict"]

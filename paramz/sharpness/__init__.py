"""Hessian sharpness probes: top eigenvalues by Lanczos on Hessian-vector products.

    res = paramz.sharpness.top_eigenvalue(lambda: loss(model(x), y), list(model.parameters()))
    res.eigenvalue, res.eigenvector, res.residuals, res.matvecs

Variants for per-layer LRs and Adam, and the model probe a sweep trial uses, are in `hessian` and
`probe`; the eigensolvers in `lanczos`.
"""

from __future__ import annotations

from paramz.sharpness.hessian import (
                                      VARIANTS,
                                      diagonal_scale,
                                      edge_of_stability,
                                      flatten,
                                      hvp_operator,
                                      operator_of,
                                      scaled,
                                      top_eigenvalue,
                                      unflatten,
)
from paramz.sharpness.lanczos import EigenResult, Workspace, lanczos, power_iteration
from paramz.sharpness.probe import Probe, probe_model

__all__ = ["VARIANTS", "EigenResult", "Probe", "Workspace", "diagonal_scale", "edge_of_stability", "flatten",
           "hvp_operator", "lanczos", "operator_of", "power_iteration", "probe_model", "scaled",
           "top_eigenvalue", "unflatten"]

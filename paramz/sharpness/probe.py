"""Probing a model's sharpness during training, the way a sweep trial does it.

Conventions, recorded in every `Probe`:
  * a fixed probe batch, chosen by the caller once per trial, so consecutive probes measure the
    same function and a warm start (the previous eigenvector) pays off;
  * eval mode while probing (dropout off: a Hessian of a random function is not one matrix),
    and the previous mode restored afterwards, even on error;
  * ``torch.autograd.grad`` only: the parameters' ``.grad`` is left exactly as it was, and no
    graph outlives the probe;
  * one gradient graph per probe, shared by all variants (``raw``, ``lr``, ``adam``);
  * one solve per distinct operator: ``lr`` with every LR ratio 1 (SP's groups) is ``raw``;
  * a variant starts from its own eigenvector of the previous probe (``warm``); ``lr`` without one
    starts from this probe's ``raw`` eigenvector (the LR ratios are constant per group, so the two
    top eigenvectors are close: half the HVPs at a μP model's first probe, measured here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from paramz.errors import ConfigError, unknown_name
from paramz.sharpness.hessian import (
    VARIANTS,
    diagonal_scale,
    edge_of_stability,
    hvp_operator,
    operator_of,
    scaled,
    solve,
)
from paramz.sharpness.lanczos import EigenResult, Workspace


@dataclass(frozen=True)
class Probe:
    """One variant of one probe.

    Attributes:
        variant: ``raw``, ``lr`` or ``adam`` (see `paramz.sharpness.hessian`).
        eigenvalue: λ_max of the variant's operator.
        eos_ratio: η·λ over its stability threshold (None without a base LR).
        residual: ‖Av − λv‖ of the returned pair.
        hvps: Hessian-vector products spent.
        converged: residual met the tolerance.
        seconds: wall time of this variant (the shared gradient graph is counted in the first).
        mode: the module mode used for the probe (always ``eval``).
        eigenvector: flat top eigenvector, to warm-start the next probe.
    """

    variant: str
    eigenvalue: float
    eos_ratio: float | None
    residual: float
    hvps: int
    converged: bool
    seconds: float
    mode: str
    eigenvector: torch.Tensor


def probe_model(model: nn.Module, loss_fn: Callable[[nn.Module], torch.Tensor], *,
                variants: Sequence[str] = ("raw",), optimizer: torch.optim.Optimizer | None = None,
                lr: float | None = None, beta1: float = 0.9, warm: Mapping[str, torch.Tensor] | None = None,
                tol: float = 1e-3, max_iter: int = 50, generator: torch.Generator | None = None,
                workspace: Workspace | None = None) -> dict[str, Probe]:
    """Top Hessian eigenvalue of ``loss_fn(model)`` for each variant.

    Args:
        model: the model; its trainable parameters are probed.
        loss_fn: ``model ↦ scalar loss`` on the fixed probe batch.
        variants: any of ``raw``, ``lr``, ``adam``.
        optimizer: the live optimizer (needed for ``lr`` and ``adam``).
        lr: base LR η, for the edge-of-stability ratio (and groups without ``lr_mult``).
        beta1: Adam β1 of the ``adam`` threshold.
        warm: ``{variant: eigenvector}`` from the previous probe (see the module docstring for a
            variant without one).
        tol: relative residual tolerance.
        max_iter: Krylov dimension at most.
        generator: RNG of the random start vectors.
        workspace: Krylov memory to reuse (a trial keeps one across its probes); one is made for this
            call's variants otherwise.

    Returns:
        ``{variant: Probe}``.

    Raises:
        ConfigError: unknown variant, or ``lr``/``adam`` without an optimizer.
    """
    for v in variants:
        if v not in VARIANTS:
            raise unknown_name("variant", v, VARIANTS)
    if optimizer is None and any(v != "raw" for v in variants):
        raise ConfigError("optimizer: the 'lr' and 'adam' variants read the live optimizer; pass optimizer=")
    params = [p for p in model.parameters() if p.requires_grad]
    dim = sum(p.numel() for p in params)
    workspace = workspace if workspace is not None else Workspace(dim, params[0].dtype)
    was_training = model.training
    model.eval()
    out: dict[str, Probe] = {}
    try:
        start = time.perf_counter()
        hvp = hvp_operator(lambda: loss_fn(model), params)
        solved: dict[str, EigenResult] = {}   # operator → its solution: `lr` with every ratio 1 (SP) is `raw`
        for variant in variants:
            key = operator_of(variant, optimizer, lr) if optimizer is not None else "raw"
            reused = key in solved
            if not reused:
                v0 = (warm or {}).get(variant)
                if v0 is None and key == "lr" and "raw" in solved:
                    v0 = solved["raw"].eigenvector   # D^½HD^½ with D constant per group: close to H's (13 → 6 HVPs)
                scale = diagonal_scale(optimizer, key, params, base_lr=lr) if optimizer is not None else None
                solved[key] = solve(scaled(hvp, scale), dim, k=1, max_iter=max_iter, tol=tol, v0=v0,
                                    method="lanczos", dtype=params[0].dtype, generator=generator,
                                    workspace=workspace)
            res = solved[key]
            now = time.perf_counter()
            eos = edge_of_stability(res.eigenvalue, lr, variant, beta1) if lr else None
            out[variant] = Probe(variant, res.eigenvalue, eos, float(res.residuals[0]), 0 if reused else res.matvecs,
                                 res.converged, now - start, "eval", res.eigenvector)
            start = now
    finally:
        model.train(was_training)
    return out

"""Hessian-vector products of a closure, and the sharpness a trial reports.

``loss_fn()`` returns a scalar computed from ``params``. The gradient is taken once with
``create_graph=True`` and kept; every HVP is then one backward pass through it (double backprop).
Why not torch.func's forward-over-reverse ``jvp(grad)``: on the zoo GPT in torch 2.13 it gave a
wrong, asymmetric Hessian (``torch.func.hessian`` off by 0.03 at ln_f × wpe entries, HVPs off by
0.2), while both reverse-mode paths agreed to 1e-16. `bench/sharpness.py` still reports its speed.

Three operators, all symmetric, so Lanczos applies:

* ``raw``: H. Under SGD with one LR η, gradient descent is stable while η·λ_max < 2.
* ``lr``: D^½ H D^½, with D the per-parameter LR ratio (``lr_mult``) of the param groups. Under
  per-layer LRs (μP), this is the curvature the update actually sees; compare η·λ with 2.
* ``adam``: (D/P)^½ H (D/P)^½, with P = √v̂ + ε the diagonal of a live Adam optimizer. It has the
  eigenvalues of the preconditioned P⁻¹H (similar matrices). Adam's edge of stability is
  η·λ = (2 + 2β1)/(1 − β1), that is 38 at β1 = 0.9 (Cohen et al. 2022; arXiv 2402.17457).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from paramz.errors import ConfigError, unknown_name
from paramz.sharpness.lanczos import EigenResult, MatVec, Operator, Workspace, lanczos, power_iteration

VARIANTS = ("raw", "lr", "adam")


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Splits a flat vector into tensors shaped like ``like``."""
    out, start = [], 0
    for t in like:
        out.append(vector[start:start + t.numel()].view_as(t))
        start += t.numel()
    return out


def hvp_operator(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor]) -> Operator:
    """``v ↦ H v`` on flat vectors, H the Hessian of ``loss_fn`` w.r.t. ``params``.

    Args:
        loss_fn: closure returning a scalar tensor computed from ``params``.
        params: the tensors (``requires_grad``) the Hessian is taken against.

    Returns:
        The operator, ``op(v)`` or ``op(v, out=buffer)``. It holds the gradient graph until it is
        garbage collected.

    Raises:
        ConfigError: a parameter that does not require grad, or a loss that is not a scalar.

    The loss is evaluated with ``scaled_dot_product_attention`` restricted to its math kernel: the
    fused CPU kernels have no double backward, which every HVP needs (a model that calls
    ``F.scaled_dot_product_attention`` is probed as it is, with the same numbers up to rounding).
    """
    params = list(params)
    for i, p in enumerate(params):
        if not p.requires_grad:
            raise ConfigError(f"params[{i}]: does not require grad; pass the tensors the loss depends on")
    with sdpa_kernel(SDPBackend.MATH):
        loss = loss_fn()
    if loss.dim() != 0:
        raise ConfigError(f"loss_fn: must return a scalar, returned shape {tuple(loss.shape)}")
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    return _HVP(params, grads)


class _HVP(Operator):
    def __init__(self, params: list[torch.Tensor], grads: Sequence[torch.Tensor | None]) -> None:
        self.params = params
        self.live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]  # else H's block is 0
        self.grads = [g for g in grads if g is not None and g.requires_grad]

    def __call__(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if not self.live:
            return torch.zeros_like(v) if out is None else out.zero_()
        parts = unflatten(v.detach(), self.params)
        # H v = ∂(g·v)/∂θ, as the vector-Jacobian product of the gradient with v: handing v to the
        # backward as grad_outputs skips building g·v (1.3-1.7x faster than grad of the dot product here)
        hv = torch.autograd.grad(self.grads, self.params,
                                 grad_outputs=[parts[i] for i in self.live], retain_graph=True, allow_unused=True)
        flat = [(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, self.params)]
        return torch.cat(flat, out=out).detach() if out is not None else torch.cat(flat).detach()


def scaled(matvec: MatVec, scale: Sequence[torch.Tensor] | None) -> MatVec:
    """``v ↦ S^½ A S^½ v`` for a per-parameter diagonal S (None: A itself).

    An `Operator` stays one (its products can be written in place), with one buffer for ``S^½ v``.
    """
    if scale is None:
        return matvec
    return _Scaled(matvec, flatten(scale).detach().sqrt())


class _Scaled(Operator):
    def __init__(self, inner: MatVec, root: torch.Tensor) -> None:
        self.inner, self.root = inner, root
        self.buffer = torch.empty_like(root)

    def __call__(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        inner_v = torch.mul(self.root, v.reshape(-1), out=self.buffer)
        if isinstance(self.inner, Operator):
            return self.inner(inner_v, out=out).mul_(self.root)
        return torch.mul(self.inner(inner_v).reshape(-1), self.root, out=out)


def top_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *, k: int = 1,
                   max_iter: int = 100, tol: float = 1e-4, v0: torch.Tensor | None = None,
                   scale: Sequence[torch.Tensor] | None = None, method: str = "lanczos",
                   generator: torch.Generator | None = None) -> EigenResult:
    """Largest algebraic Hessian eigenvalue(s) of ``loss_fn`` at ``params``, from HVPs only.

    Args:
        loss_fn: closure returning a scalar tensor computed from ``params``.
        params: tensors with ``requires_grad``.
        k: number of top eigenpairs (Lanczos only).
        max_iter: Krylov dimension (Lanczos) or iterations (power) at most.
        tol: stop when ``‖Hv − λv‖ ≤ tol·|λ|`` for every wanted pair.
        v0: warm start, e.g. ``previous.eigenvector``.
        scale: per-parameter diagonal S for the operator S^½ H S^½ (see `diagonal_scale`).
        method: ``lanczos`` (default) or ``power``.
        generator: RNG of the random start vector.

    Returns:
        `EigenResult`: eigenvalues, flat eigenvectors, residuals, iterations and HVP count.

    Raises:
        ConfigError: bad k, tol, method, v0 size, or parameters without grad.
    """
    params = list(params)
    matvec = scaled(hvp_operator(loss_fn, params), scale)
    return solve(matvec, sum(p.numel() for p in params), k=k, max_iter=max_iter, tol=tol, v0=v0, method=method,
                 dtype=params[0].dtype, generator=generator)


def solve(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, *, k: int, max_iter: int, tol: float,
          v0: torch.Tensor | None, method: str, dtype: torch.dtype,
          generator: torch.Generator | None, workspace: Workspace | None = None) -> EigenResult:
    """Dispatches to `lanczos` or `power_iteration` (arguments as `top_eigenvalue`; ``workspace``: see
    `lanczos`)."""
    if method not in ("lanczos", "power"):
        raise unknown_name("method", method, ("lanczos", "power"))
    if method == "power":
        if k != 1:
            raise ConfigError("k: power iteration finds one eigenpair; use method='lanczos' for k > 1")
        return power_iteration(matvec, dim, max_iter=max_iter, tol=tol, v0=v0, dtype=dtype, generator=generator)
    return lanczos(matvec, dim, k=k, max_iter=max_iter, tol=tol, v0=v0, dtype=dtype, generator=generator,
                   workspace=workspace)


def lr_ratio(group: dict, base_lr: float | None = None) -> float:
    """A param group's LR over the base LR: its ``lr_mult`` (paramz groups), else ``lr / base_lr``.

    Raises:
        ConfigError: the group carries no ``lr_mult`` and no ``base_lr`` was given.
    """
    if "lr_mult" in group:
        return float(group["lr_mult"])
    if base_lr:
        return float(group["lr"] / base_lr)
    raise ConfigError("base_lr: the optimizer's groups carry no lr_mult; pass base_lr (η)")


def operator_of(variant: str, optimizer: torch.optim.Optimizer, base_lr: float | None = None) -> str:
    """The operator a variant's probe solves: ``lr`` is ``raw`` when every group's LR ratio is 1 (SP,
    or μP at its base shape), so one solve serves both; ``raw`` and ``adam`` are their own.

    Raises:
        ConfigError: unknown variant, or no way to tell the LR ratio (see `lr_ratio`).
    """
    if variant not in VARIANTS:
        raise unknown_name("variant", variant, VARIANTS)
    if variant == "lr" and all(lr_ratio(g, base_lr) == 1 for g in optimizer.param_groups if g["params"]):
        return "raw"
    return variant


def diagonal_scale(optimizer: torch.optim.Optimizer, variant: str, params: Sequence[torch.Tensor],
                   base_lr: float | None = None) -> list[torch.Tensor] | None:
    """The diagonal S of a variant, read off a live optimizer, for ``params`` in order.

    Args:
        optimizer: the trial's optimizer (paramz groups carry ``lr_mult``; others are read as
            ``lr / base_lr``).
        variant: ``raw`` (returns None), ``lr`` (D) or ``adam`` (D/(√v̂ + ε)).
        params: the parameters, in the order of the operator.
        base_lr: η, needed only for groups without ``lr_mult``.

    Returns:
        Tensors shaped like ``params``, or None for ``raw``.

    Raises:
        ConfigError: unknown variant, a parameter missing from the optimizer, no Adam state yet,
            or no way to tell the LR ratio.
    """
    if variant not in VARIANTS:
        raise unknown_name("variant", variant, VARIANTS)
    if variant == "raw":
        return None
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    out = []
    for i, p in enumerate(params):
        group = group_of.get(id(p))
        if group is None:
            raise ConfigError(f"params[{i}]: not in the optimizer's param groups")
        d = torch.full_like(p, lr_ratio(group, base_lr))
        if variant == "adam":
            state = optimizer.state.get(p, {})
            if "exp_avg_sq" not in state:
                raise ConfigError("variant: 'adam' needs Adam state; probe after the first optimizer step")
            step = float(state["step"])
            beta2 = group["betas"][1]
            v_hat = state["exp_avg_sq"] / (1 - beta2 ** step)
            d = d / (v_hat.sqrt() + group["eps"])
        out.append(d.detach())
    return out


def edge_of_stability(sharpness: float, lr: float, variant: str, beta1: float = 0.9) -> float:
    """η·λ divided by its stability threshold: 1.0 means "at the edge of stability".

    Args:
        sharpness: λ_max of the variant's operator.
        lr: base learning rate η.
        variant: ``raw`` or ``lr`` (threshold 2, gradient descent) or ``adam``
            (threshold (2 + 2β1)/(1 − β1)).
        beta1: Adam's β1.

    Returns:
        The ratio.
    """
    if variant not in VARIANTS:
        raise unknown_name("variant", variant, VARIANTS)
    threshold = (2 + 2 * beta1) / (1 - beta1) if variant == "adam" else 2.0
    return lr * sharpness / threshold

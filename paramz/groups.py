"""Torch param groups that carry the rules: plain dicts for `torch.optim.AdamW` / `SGD`.

No optimizer subclass (the lesson of ``mup``): every group holds its absolute ``lr``, ``eps`` and
``weight_decay`` plus the multipliers it was made from (``lr_mult``...), so any standard scheduler,
which scales each group's ``initial_lr``, keeps the μP ratios. To set a new base LR by hand use
`set_base_lr`, never ``group["lr"] = x`` (that would silently undo μP).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from paramz.errors import ConfigError
from paramz.plan import plan_of
from paramz.rules import OPTIMIZERS, unknown_name


def check_hparams(*, lr: float, weight_decay: float = 0.0, eps: float = 1e-8) -> None:
    """Refuses a base LR, weight decay or ε that is not a finite number in its range, naming it.

    Raises:
        ConfigError: ``lr`` or ``eps`` not finite and positive, ``weight_decay`` not finite and ≥ 0.
    """
    for name, value, low_ok in (("lr", lr, False), ("eps", eps, False), ("weight_decay", weight_decay, True)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0 or (value == 0 and not low_ok):
            need = "finite and ≥ 0" if low_ok else "finite and > 0"
            raise ConfigError(f"{name}: must be a number {need}, got {value!r}")


def param_groups(model: nn.Module, optimizer: str = "adamw", *, lr: float, weight_decay: float = 0.0,
                 eps: float = 1e-8) -> list[dict[str, Any]]:
    """Param groups of a parameterized model, one per distinct set of multipliers.

    Args:
        model: a model that `paramz.parameterize` has been applied to.
        optimizer: ``adamw`` or ``sgd`` (the LR rules differ).
        lr: base learning rate η (the one tuned at the base shape).
        weight_decay: base weight decay λ (PyTorch's coupled convention: decay = lr·λ·w).
        eps: base Adam ε (ignored for SGD).

    Returns:
        A list of dicts with ``params``, ``lr``, ``weight_decay``, (Adam) ``eps``, the multipliers
        ``lr_mult``/``wd_mult``/``eps_mult``, and ``roles`` (names of the roles inside).

    Raises:
        ConfigError: the model is not parameterized, an unknown optimizer, or a base HP out of range.
    """
    if optimizer not in OPTIMIZERS:
        raise unknown_name("optimizer", optimizer, OPTIMIZERS)
    check_hparams(lr=lr, weight_decay=weight_decay, eps=eps)
    plan = plan_of(model)
    groups: dict[tuple[float, float, float, bool], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        rule = plan.rule(name, optimizer)
        key = (rule.lr_mult, rule.eps_mult, rule.wd_mult, rule.decay)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "params": [], "names": [], "roles": [],
                "lr": lr * rule.lr_mult, "lr_mult": rule.lr_mult,
                "weight_decay": weight_decay * rule.wd_mult if rule.decay else 0.0,
                "wd_mult": rule.wd_mult if rule.decay else 0.0,
            }
            if optimizer == "adamw":
                group.update(eps=eps * rule.eps_mult, eps_mult=rule.eps_mult)
        group["params"].append(param)
        group["names"].append(name)
        if plan.infos[name].role not in group["roles"]:
            group["roles"].append(plan.infos[name].role)
    return list(groups.values())


_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def make_optimizer(model: nn.Module, optimizer: str = "adamw", *, lr: float, weight_decay: float = 0.0,
                   eps: float = 1e-8, betas: tuple[float, float] = (0.9, 0.999),
                   momentum: float = 0.0, fused: bool | None = None) -> torch.optim.Optimizer:
    """A plain `torch.optim.AdamW` or `torch.optim.SGD` over `param_groups`.

    Args:
        model, optimizer, lr, weight_decay, eps: as `param_groups`.
        betas: AdamW betas.
        momentum: SGD momentum.
        fused: AdamW's fused kernel (one pass over all parameters; the default wherever torch has it,
            CPU and CUDA floating point: the optimizer step is ~7× cheaper at width 1024 on one CPU
            thread, see docs/benchmarks.md). Same update as the default loop up to float rounding.

    Returns:
        The optimizer.
    """
    groups = param_groups(model, optimizer, lr=lr, weight_decay=weight_decay, eps=eps)
    if optimizer == "adamw":
        if fused is None:
            fused = all(p.device.type in ("cpu", "cuda") and p.dtype in _FUSED_DTYPES for p in model.parameters())
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def set_base_lr(groups: Iterable[dict[str, Any]] | torch.optim.Optimizer, lr: float) -> None:
    """Sets every group's LR to ``lr·lr_mult`` (use this instead of writing ``lr`` directly).

    Args:
        groups: an optimizer or its ``param_groups``.
        lr: the new base LR.
    """
    if isinstance(groups, torch.optim.Optimizer):
        groups = groups.param_groups
    for group in groups:
        group["lr"] = lr * group["lr_mult"]

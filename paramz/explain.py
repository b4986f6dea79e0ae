"""What paramz did to a model, parameter by parameter: "is my model really in μP?"

`explain(model)` reads the plan `paramz.parameterize` attached and lists, for every parameter, its
role and where the role came from, whether it sits in a residual block, how its dims scale, its
init std, the forward multiplier applied around it, and the multipliers of the base LR, ε and weight
decay for the chosen optimizer; plus the residual-branch multiplier, the attention-logit scale, the
branches hooked, and warnings for what looks off (no readout, attention that keeps 1/√d under μP,
a role guessed from shape alone, a model narrower than its base, a norm left outside its block).

`explain` returns a pandas DataFrame (pandas is imported only here, and only when called);
`explain_rows` returns the same as plain data for JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from paramz.plan import Plan, plan_of
from paramz.rules import OPTIMIZERS, unknown_name


@dataclass(frozen=True)
class ExplainRow:
    """One parameter as the plan treats it (see the module docstring)."""

    name: str
    shape: tuple[int, ...]
    role: str
    source: str
    in_block: bool
    width_dims: int
    width_ratio: float
    init_std: float
    forward: float
    lr_mult: float
    eps_mult: float
    wd_mult: float


def _forward(plan: Plan, role: str, in_block: bool) -> float:
    m = plan.multipliers
    if role == "emb":
        return m.emb
    if role == "out":
        return m.out
    return m.residual if in_block else 1.0


def explain_rows(model: nn.Module, optimizer: str = "adamw") -> tuple[list[ExplainRow], dict[str, Any]]:
    """Per-parameter rows and a summary (see the module docstring).

    Args:
        model: a parameterized model.
        optimizer: ``adamw`` or ``sgd`` (their LR rules differ).

    Returns:
        ``(rows, summary)``; the summary has ``parameterization``, ``alpha``, ``depth_ratio``,
        ``residual_multiplier``, ``attention_scale``, ``readout_multiplier``,
        ``embedding_multiplier``, ``branches``, ``blocks`` and ``warnings``.

    Raises:
        ConfigError: the model is not parameterized, or an unknown optimizer.
    """
    if optimizer not in OPTIMIZERS:
        raise unknown_name("optimizer", optimizer, OPTIMIZERS)
    plan = plan_of(model)
    params = dict(model.named_parameters())
    rows = []
    for name, info in plan.infos.items():
        rule = plan.rule(name, optimizer)
        rows.append(ExplainRow(name, tuple(params[name].shape), info.role, info.source, info.in_block, info.width_dims,
                               info.width_ratio, rule.init_std, _forward(plan, info.role, info.in_block),
                               rule.lr_mult, rule.eps_mult, rule.wd_mult if rule.decay else 0.0))
    pz, m = plan.parameterization, plan.multipliers
    summary = {"parameterization": pz.name, "alpha": pz.alpha, "optimizer": optimizer, "depth_ratio": plan.depth_ratio,
               "residual_multiplier": m.residual, "attention_scale": m.attn_scale, "readout_multiplier": m.out,
               "embedding_multiplier": m.emb, "branches": list(plan.branches), "blocks": list(plan.blocks),
               "warnings": list(plan.warnings)}
    return rows, summary


def explain(model: nn.Module, optimizer: str = "adamw") -> Any:
    """The plan of ``model`` as a pandas DataFrame, one row per parameter; the summary in ``.attrs``.

    Args:
        model: a parameterized model.
        optimizer: ``adamw`` or ``sgd``.

    Returns:
        A ``pandas.DataFrame`` indexed by parameter name (columns: shape, role, source, in_block,
        width_dims, width_ratio, init_std, forward, lr_mult, eps_mult, wd_mult); ``df.attrs`` holds
        the summary of `explain_rows`, warnings included.

    Raises:
        ConfigError: the model is not parameterized, or an unknown optimizer.
        ImportError: pandas is not installed (use `explain_rows`).
    """
    import pandas as pd  # only here: the library itself needs torch only

    rows, summary = explain_rows(model, optimizer)
    frame = pd.DataFrame([asdict(r) for r in rows]).set_index("name")
    frame.attrs.update(summary)
    return frame

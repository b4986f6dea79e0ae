"""A parameterization applied to one model: what each parameter is, and the numbers it gets.

`paramz.parameterize` makes a `Plan` and attaches it to the model (``model.paramz_plan``);
`paramz.param_groups` and `paramz.explain` read it. A plan holds, per parameter, its `ParamInfo`
(role, how many dims scale with width and by how much, whether it sits in a residual block, where
the role came from) and turns the rule table (`paramz.rules`) into numbers: init std and the
multipliers of the base LR, ε and weight decay.

Base HPs are defined *at the base shape*: the init std of a matrix there is
``σ = gain[role] / sqrt(fan_in at the base shape)`` (PyTorch's fan-in convention, so a zoo model at
its base width is a plain fan-in model), biases start at 0 and other vectors (norm gains) at 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from paramz.errors import ConfigError
from paramz.rules import OPTIMIZERS, Parameterization, unknown_name

PLAN_ATTR = "paramz_plan"


@dataclass(frozen=True)
class HParams:
    """Base hyperparameters that live in the model (optimizer ones go to `param_groups`).

    Attributes:
        init_gain: per role, the init std at the base shape times sqrt(fan_in at base).
        alpha_in: forward multiplier of the embedding output (α_in).
        alpha_out: forward multiplier of the readout at the base width (α_out).
        residual_a: residual-branch constant a (multiplier at the base depth).
        alpha_attn: attention-logit constant α_attn.
    """

    init_gain: Mapping[str, float] = field(
        default_factory=lambda: {"emb": 1.0, "hidden": 1.0, "out": 1.0})
    alpha_in: float = 1.0
    alpha_out: float = 1.0
    residual_a: float = 1.0
    alpha_attn: float = 1.0


@dataclass(frozen=True)
class Multipliers:
    """Forward multipliers a parameterized model applies (1.0 is the identity).

    Attributes:
        emb: output of the embedding / input layer.
        out: input of the readout (Table-8 form, so the readout bias is not scaled).
        residual: every residual branch, ``h ← h + residual·F(LN(h))``.
        attn_scale: attention-logit scale; None keeps the model's own ``1/sqrt(d_head)``.
    """

    emb: float = 1.0
    out: float = 1.0
    residual: float = 1.0
    attn_scale: float | None = None


@dataclass(frozen=True)
class ParamInfo:
    """What the rules need to know about one parameter.

    Attributes:
        name: as in ``model.named_parameters()``.
        role: one of `paramz.rules.ROLES`.
        width_dims: how many dimensions scale with width (0, 1 or 2).
        width_ratio: ``N/N0`` of the scaling dimension (fan-in if it scales, else fan-out).
        in_block: inside a residual block (depth factors apply).
        base_fan_in: fan-in of the parameter at the base shape (sets σ).
        source: where the role came from: ``declared`` (a roles pattern), ``module`` (a module
            type whose layout is known: Linear, Embedding, a norm), ``shape`` (which dims
            differ between base and delta alone: worth a look, `paramz.explain` warns).
    """

    name: str
    role: str
    width_dims: int
    width_ratio: float
    in_block: bool
    base_fan_in: int
    source: str = "shape"

    @property
    def is_vector(self) -> bool:
        return self.role in ("block-vec", "end-vec")


@dataclass(frozen=True)
class ParamRule:
    """The numbers one parameter gets: init std and multipliers of the base lr, ε and λ."""

    init_std: float
    lr_mult: float
    eps_mult: float
    wd_mult: float
    decay: bool


@dataclass(frozen=True)
class Plan:
    """A parameterization applied to one model; attached to it as ``model.paramz_plan``.

    Attributes:
        parameterization: the row of the rule table.
        hp: base hyperparameters.
        infos: per parameter name, its `ParamInfo`.
        depth_ratio: ``L/L0`` (1.0 for models without residual blocks).
        multipliers: the forward multipliers set on the model.
        branches: the residual-branch modules whose outputs get ``multipliers.residual`` (each once).
        blocks: the residual-block modules (their parameters get the depth factors).
        warnings: what looked off when the plan was made (see `paramz.explain`).
    """

    parameterization: Parameterization
    hp: HParams
    infos: Mapping[str, ParamInfo]
    depth_ratio: float
    multipliers: Multipliers
    branches: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def factor(self, info: ParamInfo, quantity: str) -> float:
        """``mN**e_width · mL**e_depth`` of one quantity for one parameter."""
        e_width, e_depth = self.parameterization.exponents(info.role, quantity, in_block=info.in_block)
        width = info.width_ratio ** e_width if info.width_dims > 0 else 1.0
        return width * self.depth_ratio ** e_depth

    def init_std(self, name: str) -> float:
        """Init std of a matrix, ``gain[role]/sqrt(fan_in at base) · mN**e_init`` (0 for vectors)."""
        info = self.infos[name]
        if info.is_vector:
            return 0.0
        return self.hp.init_gain.get(info.role, 1.0) / math.sqrt(info.base_fan_in) * self.factor(info, "init")

    def rule(self, name: str, optimizer: str) -> ParamRule:
        """The numbers for parameter ``name`` under ``optimizer`` (``adamw`` or ``sgd``).

        Raises:
            ConfigError: unknown optimizer. KeyError: unknown parameter name.
        """
        if optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", optimizer, OPTIMIZERS)
        info = self.infos[name]
        adam = optimizer == "adamw"
        return ParamRule(
            init_std=self.init_std(name),
            lr_mult=self.factor(info, "adam_lr" if adam else "sgd_lr"),
            eps_mult=self.factor(info, "adam_eps") if adam else 1.0,
            wd_mult=self.factor(info, "adam_wd" if adam else "sgd_wd"),
            decay=not info.is_vector,
        )


def plan_of(model: nn.Module) -> Plan:
    """The plan attached by `paramz.parameterize`.

    Raises:
        ConfigError: the model was never parameterized.
    """
    plan = getattr(model, PLAN_ATTR, None)
    if not isinstance(plan, Plan):
        raise ConfigError("model: not parameterized; call paramz.parameterize(model, ...) first")
    return plan

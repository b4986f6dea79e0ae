"""Applying a parameterization to a model: roles, per-parameter numbers, init, multipliers.

`parameterize(model, "mup", base_width=64)` works out, for every parameter, its role, how many
of its dimensions scale with width (the ``mup`` base-shape mechanism: compare the parameter's
shape in a base model and in a delta model of another width), its width ratio and whether it
sits in a residual block. It then re-initialises the weights, sets the forward multipliers and
attaches a `Plan` to the model that `paramz.groups.param_groups` reads.

Base HPs are defined *at the base shape*: the init std of a matrix there is
``σ = gain[role] / sqrt(fan_in at the base shape)`` (PyTorch's fan-in convention, so a zoo model at
its base width is a plain fan-in model), biases start at 0 and other vectors (norm gains) at 1.

Why re-initialise instead of rescaling the user's init: rescaling silently assumes that init was
fan-in at the current width; drawing afresh from one recipe, in parameter order with the same
RNG draws in every parameterization, is what makes the base shape bit-for-bit identical across
SP, μP, depth-μP and CompleteP.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from paramz.errors import AlreadyParameterizedError, ConfigError, RoleError
from paramz.rules import OPTIMIZERS, ROLES, Parameterization, get, unknown_name

PLAN_ATTR = "paramz_plan"
DEFAULT_QUERY_PATTERNS = ("*.q.weight", "*.q_proj.weight", "*.query.weight")


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
    """

    name: str
    role: str
    width_dims: int
    width_ratio: float
    in_block: bool
    base_fan_in: int

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
    """

    parameterization: Parameterization
    hp: HParams
    infos: Mapping[str, ParamInfo]
    depth_ratio: float
    multipliers: Multipliers

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


def _fan_in(shape: Sequence[int]) -> int:
    return int(math.prod(shape[1:])) if len(shape) >= 2 else 1


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or name.startswith(p + ".") for p in patterns)


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(p.shape) for n, p in model.named_parameters()}


def _infer_role(name: str, module: nn.Module, scales: tuple[bool, ...], in_block: bool) -> str | None:
    """Role from module type and which dims scale; None when it cannot be told."""
    if isinstance(module, nn.Embedding) and name.endswith("weight"):
        return "emb"
    if len(scales) == 1:
        return ("block-vec" if in_block else "end-vec") if scales[0] else "end-vec"
    if len(scales) >= 2:
        fan_out, fan_in = scales[0], scales[1]
        if fan_out and fan_in:
            return "hidden"
        if fan_out:
            return "emb"
        if fan_in:
            return "out"
    return None


def build_infos(model: nn.Module, base: nn.Module, delta: nn.Module, *, roles: Mapping[str, str] | None = None,
                blocks: Sequence[str] = ()) -> dict[str, ParamInfo]:
    """Works out role, width dims and width ratio of every parameter of ``model``.

    Args:
        model: the model at the target shape.
        base: the same architecture at the base width (any device; ``meta`` costs nothing).
        delta: the same architecture at another width, to tell which dims scale.
        roles: ``{pattern: role}`` (fnmatch on parameter names, or a module prefix); wins over
            inference from module types and shapes.
        blocks: patterns of residual-block modules; parameters under them are ``in_block``.

    Returns:
        ``{name: ParamInfo}`` in ``named_parameters`` order.

    Raises:
        RoleError: parameters whose role is unknown or cannot be inferred (all named at once),
            a role that does not exist, or a parameter missing from the base/delta model.
    """
    roles = dict(roles or {})
    for pattern, given in roles.items():
        if given not in ROLES:
            raise RoleError(f"roles[{pattern!r}]: unknown role {given!r}; choose one of {', '.join(ROLES)}")
    base_shapes, delta_shapes = _shapes(base), _shapes(delta)
    modules = dict(model.named_modules())
    infos: dict[str, ParamInfo] = {}
    missing: list[str] = []
    unassigned: list[str] = []
    for name, param in model.named_parameters():
        if name not in base_shapes or name not in delta_shapes:
            missing.append(name)
            continue
        b_shape, d_shape = base_shapes[name], delta_shapes[name]
        scales = tuple(b != d for b, d in zip(b_shape, d_shape))
        in_block = _matches(name, blocks)
        role: str | None = next((r for p, r in roles.items() if _matches(name, [p])), None)
        if role is None:
            owner = modules[name.rpartition(".")[0]] if "." in name else model
            role = _infer_role(name, owner, scales, in_block)
        if role is None:
            unassigned.append(f"{name} {tuple(param.shape)}")
            continue
        # Width ratio of the scaling dim: fan-in if it scales (mup's width_mult), else the first.
        dims = [i for i, s in enumerate(scales) if s]
        dim = 1 if 1 in dims else (dims[0] if dims else None)
        ratio = param.shape[dim] / b_shape[dim] if dim is not None else 1.0
        infos[name] = ParamInfo(name, role, len(dims), float(ratio), in_block and role in ("hidden", "block-vec"),
                                _fan_in(b_shape))
    if missing:
        raise RoleError(f"base/delta models lack parameters {missing}; build them with the same depth and "
                        "architecture as the model, at other widths")
    if unassigned:
        raise RoleError(f"no role for parameters {unassigned}; name them in roles={{pattern: role}} with a role "
                        f"among {', '.join(ROLES)}")
    return infos


def _init_(model: nn.Module, plan: Plan, query_patterns: Sequence[str]) -> None:
    """Draws every parameter afresh, in ``named_parameters`` order (same draws in every row)."""
    pz = plan.parameterization
    zero_query = [n for n in plan.infos if _matches(n, query_patterns)] if pz.zero_init_query else []
    if pz.zero_init_query and not zero_query:
        raise ConfigError(f"zero_init_query: no parameter matches {list(query_patterns)}; pass query_patterns=")
    with torch.no_grad():
        for name, param in model.named_parameters():
            info = plan.infos[name]
            if info.is_vector:
                param.zero_() if name.endswith("bias") else param.fill_(1.0)
                continue
            param.normal_(0.0, plan.init_std(name))
            if (pz.zero_init_readout and info.role == "out") or name in zero_query:
                param.zero_()  # drawn first, so every other parameter gets the same numbers


def _install_hooks(model: nn.Module, plan: Plan, branches: Sequence[str]) -> None:
    """Forward multipliers for a user's module, as hooks (zoo models apply them in `forward`)."""
    mult = plan.multipliers
    roles: dict[str, set[str]] = {}  # module name -> roles of its own parameters (weight and bias)
    for name, info in plan.infos.items():
        roles.setdefault(name.rpartition(".")[0], set()).add(info.role)
    for mod_name, module in model.named_modules():
        own = roles.get(mod_name, set())
        if "emb" in own and mult.emb != 1.0:
            module.register_forward_hook(lambda m, i, o, s=mult.emb: o * s)
        if "out" in own and mult.out != 1.0:
            # Scale the readout's input (Table-8 form): its bias stays unscaled.
            module.register_forward_pre_hook(lambda m, args, s=mult.out: (args[0] * s, *args[1:]))
        if branches and mod_name and _matches(mod_name, branches) and mult.residual != 1.0:
            module.register_forward_hook(lambda m, i, o, s=mult.residual: o * s)


def parameterize(model: nn.Module, parameterization: str | Parameterization = "mup", *,
                 base_width: int | None = None, base_depth: int | None = None,
                 base: nn.Module | None = None, delta: nn.Module | None = None,
                 depth_ratio: float | None = None, roles: Mapping[str, str] | None = None,
                 branches: Sequence[str] = (), blocks: Sequence[str] | None = None,
                 hp: HParams | None = None, query_patterns: Sequence[str] = DEFAULT_QUERY_PATTERNS,
                 **options: object) -> Plan:
    """Applies a parameterization to ``model`` in place: init, multipliers, and the plan.

    Zoo models (`paramz.models`) need only ``base_width`` (and ``base_depth``); a user's module
    needs ``base`` and ``delta`` models (any device; build them under ``torch.device("meta")``)
    at two other widths, and for depth rules ``branches`` (patterns of the residual-branch
    modules, whose outputs get ``a·mL**-α``) and ``depth_ratio``.

    Args:
        model: the model at its target shape.
        parameterization: a name (``sp``, ``mup``, ``depth-mup``, ``completep``) or a
            `Parameterization`.
        base_width: zoo models: the width at which base HPs were tuned.
        base_depth: zoo models: the depth at which base HPs were tuned (default: the model's).
        base: user modules: the model at the base width.
        delta: user modules: the model at a width other than ``base``'s.
        depth_ratio: user modules: ``L/L0``.
        roles: ``{pattern: role}`` overrides (user modules; zoo models declare theirs).
        branches: user modules: residual-branch module patterns.
        blocks: user modules: residual-block module patterns (default: ``branches``).
        hp: base HPs living in the model (init gains, α_in, α_out, a, α_attn).
        query_patterns: parameter names that ``zero_init_query`` zeroes.
        **options: options of the parameterization (see `paramz.rules.get`).

    Returns:
        The `Plan`, also attached as ``model.paramz_plan``.

    Raises:
        AlreadyParameterizedError: the model carries a plan already.
        ConfigError: bad widths/depths/options, or depth rules on a model without branches.
        RoleError: a parameter without a role (named in the message).
    """
    if getattr(model, PLAN_ATTR, None) is not None:
        raise AlreadyParameterizedError(
            "model is already parameterized; build a fresh model to apply another parameterization")
    pz = get(parameterization, **options)
    hp = hp or HParams()
    zoo = hasattr(model, "scaled") and hasattr(model, "ROLES")
    if zoo:
        zoo_model: Any = model  # a paramz.models.ZooModel (not imported here: the models import this module)
        if base or delta or roles or branches:
            raise ConfigError("base/delta/roles/branches: zoo models declare their own; pass base_width/base_depth")
        if base_width is None:
            raise ConfigError("base_width: required; it is the width at which the base HPs were tuned")
        base_depth = zoo_model.depth if base_depth is None else base_depth
        for field_name, value in (("base_width", base_width), ("base_depth", base_depth)):
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{field_name}: must be a positive integer, got {value!r}")
        base, delta = zoo_model.scaled(base_width), zoo_model.scaled(2 * base_width)
        roles, blocks = zoo_model.ROLES, zoo_model.BLOCKS
        depth_ratio = zoo_model.depth / base_depth if zoo_model.BLOCKS else 1.0
        if not zoo_model.BLOCKS and base_depth != zoo_model.depth and pz.has_depth_rules:
            raise ConfigError(f"parameterization: {pz.name!r} scales residual branches, and "
                              f"{type(model).__name__} has none; use 'mup', or the residual MLP")
    else:
        if base is None or delta is None:
            raise ConfigError("base, delta: a user module needs base and delta models at two other widths "
                              "(build them under torch.device('meta'))")
        blocks = branches if blocks is None else blocks
        depth_ratio = 1.0 if depth_ratio is None else float(depth_ratio)
        if depth_ratio <= 0:
            raise ConfigError(f"depth_ratio: must be positive, got {depth_ratio}")
        if pz.has_depth_rules and not branches:
            raise ConfigError(f"branches: {pz.name!r} scales residual branches; name the branch modules "
                              "(e.g. branches=['blocks.*.mlp']) or use 'mup'")
    assert base is not None and delta is not None and depth_ratio is not None
    infos = build_infos(model, base, delta, roles=roles, blocks=blocks or ())
    # Readout multiplier α_out·mN^e (Table 8); a tied readout takes the embedding's width ratio.
    out_ratio = next((i.width_ratio for i in infos.values() if i.role == "out"), None)
    if out_ratio is None:
        out_ratio = next((i.width_ratio for i in infos.values() if i.role == "emb" and i.width_dims), 1.0)
    d_head: int | None = getattr(model, "d_head", None)  # zoo GPT: d_head is fixed as width grows
    multipliers = Multipliers(
        emb=hp.alpha_in,
        out=hp.alpha_out * out_ratio ** pz.exponents("out", "mult")[0],
        residual=pz.residual_multiplier(depth_ratio, hp.residual_a),
        attn_scale=pz.attention_scale(d_head, d_head, hp.alpha_attn) if d_head is not None else None,
    )
    plan = Plan(pz, hp, infos, depth_ratio, multipliers)
    if pz.zero_init_readout and not any(i.role == "out" for i in infos.values()):
        raise ConfigError("zero_init_readout: the readout is tied to the embedding; untie it or drop the option")
    _init_(model, plan, query_patterns)
    if zoo:
        zoo_model.multipliers = multipliers
    else:
        _install_hooks(model, plan, branches)
    setattr(model, PLAN_ATTR, plan)
    return plan


def plan_of(model: nn.Module) -> Plan:
    """The plan attached by `parameterize`.

    Raises:
        ConfigError: the model was never parameterized.
    """
    plan = getattr(model, PLAN_ATTR, None)
    if plan is None:
        raise ConfigError("model: not parameterized; call paramz.parameterize(model, ...) first")
    return plan

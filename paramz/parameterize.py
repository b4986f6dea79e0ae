"""Applying a parameterization to a model: roles, a fresh init, forward multipliers, the plan.

    paramz.parameterize(model, "mup", base_width=64)                     # a registered family
    paramz.parameterize(net, "completep", base=base, delta=delta,        # your own nn.Module
                        depth_ratio=4.0, branches=["layers.*.mlp"], blocks=["layers.*"])

Why re-initialise instead of rescaling the user's init: rescaling silently assumes that init was
fan-in at the current width; drawing afresh from one recipe, in parameter order with the same RNG
draws in every parameterization, is what makes the base shape bit-for-bit identical across SP, μP,
depth-μP and CompleteP.

Forward multipliers: a zoo model applies them in its ``forward``; any other model gets hooks
(embedding output × α_in, readout input × α_out/mN, and each residual branch's output × a·mL^−α,
exactly once per branch: when branch patterns name nested modules, only the outermost is hooked).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from paramz import patterns
from paramz.errors import AlreadyParameterizedError, ConfigError, ParamzWarning
from paramz.models.base import ScalableModel
from paramz.plan import PLAN_ATTR, HParams, Multipliers, ParamInfo, Plan
from paramz.roles import build_infos
from paramz.rules import Parameterization, get

DEFAULT_QUERY_PATTERNS = ("**.q.weight", "**.q_proj.weight", "**.query.weight")


def _init_(model: nn.Module, plan: Plan, query_patterns: Sequence[str]) -> None:
    """Draws every parameter afresh, in ``named_parameters`` order (same draws in every row)."""
    pz = plan.parameterization
    zero_query = patterns.matching(query_patterns, plan.infos) if pz.zero_init_query else []
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


def _install_hooks(model: nn.Module, plan: Plan) -> None:
    """Forward multipliers as hooks, for models that do not apply them themselves."""
    mult = plan.multipliers
    modules = dict(model.named_modules())
    for name, info in plan.infos.items():
        owner, _, leaf = name.rpartition(".")
        if leaf != "weight":
            continue
        if info.role == "emb" and mult.emb != 1.0:
            modules[owner].register_forward_hook(lambda m, i, o, s=mult.emb: o * s)
        if info.role == "out" and mult.out != 1.0:  # the readout's input (Table-8 form): its bias stays unscaled
            modules[owner].register_forward_pre_hook(lambda m, args, s=mult.out: (args[0] * s, *args[1:]))
    if mult.residual != 1.0:
        for branch in plan.branches:
            modules[branch].register_forward_hook(lambda m, i, o, s=mult.residual: o * s)


def _check_ratio(depth_ratio: float | None, pz: Parameterization) -> float:
    if depth_ratio is None:
        if pz.has_depth_rules:
            raise ConfigError(f"depth_ratio: required with {pz.name!r} on your own module; give L/L0, the model's "
                              "depth over the depth at which the base HPs were tuned")
        return 1.0
    if isinstance(depth_ratio, bool) or not isinstance(depth_ratio, (int, float)) or not math.isfinite(depth_ratio) \
            or depth_ratio <= 0:
        raise ConfigError(f"depth_ratio: must be a finite positive number (L/L0), got {depth_ratio!r}")
    return float(depth_ratio)


def _check_size(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{field}: must be a positive integer, got {value!r}")
    return value


def _family_shapes(model: ScalableModel, base_width: int) -> tuple[nn.Module, nn.Module]:
    try:
        return model.scaled(base_width), model.scaled(2 * base_width)
    except ConfigError as exc:  # the family refuses that width: say which argument it came from
        raise ConfigError(f"base_width: {base_width} does not fit {type(model).__name__} ({exc})") from None


def _warnings(model: nn.Module, infos: Mapping[str, ParamInfo], pz: Parameterization, multipliers: Multipliers,
              branch_hits: Sequence[str], branches: Sequence[str], blocks: Sequence[str]) -> list[str]:
    """What looks off in a plan (shown by `paramz.explain`)."""
    out = []
    if not any(i.role == "out" for i in infos.values()) and pz.width_rules:
        out.append("no readout found (no parameter whose fan-in alone grows with width): the readout multiplier "
                   f"α_out/mN = {multipliers.out:g} is not applied; name it in roles={{'<readout>.weight': 'out'}}")
    ratios = {i.width_ratio for i in infos.values() if i.width_dims}
    if any(r < 1 for r in ratios):
        out.append(f"the model is narrower than its base (width ratio {min(ratios):g}); the base HPs were tuned "
                   "on a wider model")
    for info in infos.values():
        if info.source == "shape":
            out.append(f"{info.name}: role {info.role!r} was guessed from its shape alone (not a Linear, Embedding "
                       "or norm); check it, or name it in roles=")
    attention = [n for n, m in model.named_modules() if "attn" in n.rsplit(".", 1)[-1].lower()
                 or "attention" in type(m).__name__.lower()]
    if pz.width_rules and attention and getattr(model, "d_head", None) is None:
        out.append(f"attention modules ({attention[0]}, ...) keep their own logit scale (1/√d_head): paramz cannot "
                   "reach inside them; hold d_head fixed as width grows, or give the model a d_head attribute and "
                   "read multipliers.attn_scale in its attention")
    nested = sorted(set(branch_hits) - set(branches))
    if nested:
        out.append(f"branch patterns also named modules inside other branches ({', '.join(nested[:3])}); each branch "
                   "output is multiplied once, at the outermost")
    block_set = set(blocks)
    for info in infos.values():
        parent = info.name.rsplit(".", 2)[0]
        if info.is_vector and not info.in_block and any(b.rpartition(".")[0] == parent for b in branches) \
                and parent not in block_set:
            out.append(f"{info.name} sits beside the branch of its layer but outside every block, so it gets no "
                       "depth factor; pass blocks= naming the layer if it belongs to the block")
    return out


def parameterize(model: nn.Module, parameterization: str | Parameterization = "mup", *,
                 base_width: int | None = None, base_depth: int | None = None,
                 base: nn.Module | None = None, delta: nn.Module | None = None,
                 depth_ratio: float | None = None, roles: Mapping[str, str] | None = None,
                 branches: Sequence[str] = (), blocks: Sequence[str] | None = None,
                 hp: HParams | None = None, query_patterns: Sequence[str] = DEFAULT_QUERY_PATTERNS,
                 **options: object) -> Plan:
    """Applies a parameterization to ``model`` in place: init, multipliers, and the plan.

    A registered family (the zoo, a plugin: a `paramz.models.ScalableModel`) needs only
    ``base_width`` (and ``base_depth``). Your own module needs ``base`` and ``delta`` models at two
    other widths (build them under ``torch.device("meta")``), and for depth rules ``branches`` and
    ``depth_ratio``. Patterns follow `paramz.patterns`: whole dotted names, ``*`` one component.

    Args:
        model: the model at its target shape.
        parameterization: a name (``sp``, ``mup``, ``depth-mup``, ``completep``) or a
            `Parameterization`.
        base_width: families: the width at which the base HPs were tuned.
        base_depth: families: the depth at which the base HPs were tuned (default: the model's).
        base: your module: the model at the base width.
        delta: your module: the model at a width other than ``base``'s.
        depth_ratio: your module: ``L/L0``; required with a depth rule, finite and positive.
        roles: your module: ``{parameter pattern: role}`` for what inference cannot place.
        branches: your module: residual-branch module patterns; each output gets ``a·mL**-α``.
        blocks: your module: residual-block module patterns (default: ``branches``); the
            parameters below them get depth factors.
        hp: base HPs living in the model (init gains, α_in, α_out, a, α_attn).
        query_patterns: parameter patterns that ``zero_init_query`` zeroes.
        **options: options of the parameterization (see `paramz.rules.get`).

    Returns:
        The `Plan`, also attached as ``model.paramz_plan``.

    Raises:
        AlreadyParameterizedError: the model carries a plan already.
        ConfigError: bad sizes, ratios or options; a pattern that names nothing (with the closest
            names); depth rules without branches.
        RoleError: a parameter without a role (named in the message).
    """
    if getattr(model, PLAN_ATTR, None) is not None:
        raise AlreadyParameterizedError(
            "model is already parameterized; build a fresh model to apply another parameterization")
    pz = get(parameterization, **options)
    hp = hp or HParams()
    family = model if isinstance(model, ScalableModel) else None
    if family is not None:
        if base or delta or roles or branches or blocks:
            raise ConfigError("base/delta/roles/branches/blocks: a model family declares its own; pass "
                              "base_width/base_depth")
        if base_width is None:
            raise ConfigError("base_width: required; it is the width at which the base HPs were tuned")
        base_width = _check_size("base_width", base_width)
        base_depth = _check_size("base_depth", family.depth if base_depth is None else base_depth)
        base, delta = _family_shapes(family, base_width)
        roles, branches, blocks = family.ROLES, family.BRANCHES, family.block_patterns()
        if not family.has_residual_blocks() and base_depth != family.depth and pz.has_depth_rules:
            raise ConfigError(f"parameterization: {pz.name!r} scales residual branches, and "
                              f"{type(model).__name__} has none; use 'mup', or a model with residual blocks")
        depth_ratio = family.depth / base_depth if family.has_residual_blocks() else 1.0
    else:
        if base is None or delta is None:
            raise ConfigError("base, delta: a user module needs base and delta models at two other widths "
                              "(build them under torch.device('meta'))")
        if pz.has_depth_rules and not branches:
            raise ConfigError(f"branches: {pz.name!r} scales residual branches; name the branch modules "
                              "(e.g. branches=['blocks.*.mlp']) or use 'mup'")
        depth_ratio = _check_ratio(depth_ratio, pz)
        blocks = list(branches) if blocks is None else list(blocks)
    module_names = [n for n, _ in model.named_modules() if n]
    if family is None:
        patterns.require("branches", list(branches), module_names, "modules")
    branch_hits = patterns.matching(branches, module_names)
    outer_branches = patterns.outermost(branch_hits)
    infos = build_infos(model, base, delta, roles=roles, blocks=blocks, strict=family is None)
    # Readout multiplier α_out·mN^e (Table 8); a tied readout takes the embedding's width ratio.
    out_ratio = next((i.width_ratio for i in infos.values() if i.role == "out"), None)
    if out_ratio is None:
        out_ratio = next((i.width_ratio for i in infos.values() if i.role == "emb" and i.width_dims), 1.0)
    d_head: int | None = getattr(model, "d_head", None)  # d_head is fixed as width grows
    multipliers = Multipliers(
        emb=hp.alpha_in,
        out=hp.alpha_out * out_ratio ** pz.exponents("out", "mult")[0],
        residual=pz.residual_multiplier(depth_ratio, hp.residual_a),
        attn_scale=pz.attention_scale(d_head, d_head, hp.alpha_attn) if isinstance(d_head, int) else None,
    )
    block_modules = tuple(patterns.outermost(patterns.matching(blocks, module_names)))
    notes = _warnings(model, infos, pz, multipliers, branch_hits, outer_branches, block_modules)
    plan = Plan(pz, hp, infos, depth_ratio, multipliers, tuple(outer_branches), block_modules, tuple(notes))
    if pz.zero_init_readout and not any(i.role == "out" for i in infos.values()):
        raise ConfigError("zero_init_readout: the readout is tied to the embedding; untie it or drop the option")
    if out_ratio < 1:
        warnings.warn(f"parameterize: the model is narrower than its base (width ratio {out_ratio:g}); the base "
                      "HPs were tuned on a wider model", ParamzWarning, stacklevel=2)
    _init_(model, plan, query_patterns)
    if family is not None:
        family.multipliers = multipliers
    if family is None or not family.APPLIES_MULTIPLIERS:
        _install_hooks(model, plan)
    setattr(model, PLAN_ATTR, plan)
    return plan

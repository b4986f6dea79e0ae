"""Which role each parameter has: declared by pattern, or inferred from module types and base shapes.

The inference is the ``mup`` base-shape mechanism: build the model at two other widths (a base and a
delta model, on the meta device they cost nothing) and compare each parameter's shape. A dimension
that differs scales with width. Then, per parameter (first rule that applies):

    a ``roles=`` pattern names it                      the role given        (source: declared)
    the weight of an nn.Embedding                      emb                   (module)
    ≥ 2-D, fan-in and fan-out scale                    hidden                (module if a Linear/conv, else shape)
    ≥ 2-D, only fan-out scales                         emb                   (idem)
    ≥ 2-D, only fan-in scales                          out                   (idem)
    1-D, scales, inside a block                        block-vec             (module if a Linear/norm, else shape)
    1-D, scales, outside every block                   end-vec               (idem)
    1-D, does not scale, the bias of a readout         end-vec               (module)
    anything else                                      no role: an error that names it

A 1-D parameter that does not grow with width (a gate, a scalar temperature) gets no role by
default, inside a block or out: its rules are a choice only its author can make (``roles=``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from torch import nn

from paramz import patterns
from paramz.errors import RoleError
from paramz.plan import ParamInfo
from paramz.rules import ROLES

# modules whose parameter layout is known: [out, in, ...] weights, per-channel vectors
_KNOWN_LAYOUT: tuple[type[nn.Module], ...] = (
    nn.Linear, nn.Embedding, nn.LayerNorm, nn.GroupNorm, getattr(nn, "RMSNorm", nn.LayerNorm),
    nn.modules.conv._ConvNd, nn.modules.batchnorm._NormBase)


def _fan_in(shape: Sequence[int]) -> int:
    return int(math.prod(shape[1:])) if len(shape) >= 2 else 1


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(p.shape) for n, p in model.named_parameters()}


def _owner(modules: Mapping[str, nn.Module], name: str) -> nn.Module:
    return modules[name.rpartition(".")[0]]


def _infer(name: str, owner: nn.Module, scales: tuple[bool, ...], in_block: bool) -> str | None:
    """Role from module type and which dims scale (the table of the module docstring, without readout biases)."""
    if isinstance(owner, nn.Embedding) and name.endswith("weight"):
        return "emb"
    if len(scales) >= 2:
        fan_out, fan_in = scales[0], scales[1]
        if fan_out and fan_in:
            return "hidden"
        if fan_out:
            return "emb"
        if fan_in:
            return "out"
        return None
    if len(scales) == 1 and scales[0]:
        return "block-vec" if in_block else "end-vec"
    return None


def build_infos(model: nn.Module, base: nn.Module, delta: nn.Module, *, roles: Mapping[str, str] | None = None,
                blocks: Sequence[str] = (), strict: bool = True) -> dict[str, ParamInfo]:
    """Role, width dims, width ratio, block membership and role source of every parameter of ``model``.

    Args:
        model: the model at the target shape.
        base: the same architecture at the base width (any device; ``meta`` costs nothing).
        delta: the same architecture at another width, to tell which dims scale.
        roles: ``{pattern: role}`` over parameter names (`paramz.patterns`; first match wins); wins
            over inference.
        blocks: patterns of residual-block module names; the parameters below a matched module
            are in a block.
        strict: a pattern that names nothing is an error (a family's declarations, written for
            every variant of it, are not strict: a tied GPT has no ``lm_head``).

    Returns:
        ``{name: ParamInfo}`` in ``named_parameters`` order.

    Raises:
        RoleError: parameters without a role (all named at once), an unknown role, a parameter
            missing from the base or delta model.
        ConfigError: a ``roles`` or ``blocks`` pattern that names nothing (with the closest names).
    """
    roles = dict(roles or {})
    for pattern, given in roles.items():
        if given not in ROLES:
            raise RoleError(f"roles[{pattern!r}]: unknown role {given!r}; choose one of {', '.join(ROLES)}")
    names = [n for n, _ in model.named_parameters()]
    modules = dict(model.named_modules())
    if strict:
        patterns.require("roles", list(roles), names, "parameters")
        patterns.require("blocks", list(blocks), list(modules), "modules")
    block_modules = patterns.outermost(patterns.matching(blocks, modules))
    base_shapes, delta_shapes = _shapes(base), _shapes(delta)
    missing = [n for n in names if n not in base_shapes or n not in delta_shapes]
    if missing:
        raise RoleError(f"base/delta models lack parameters {missing}; build them with the same depth and "
                        "architecture as the model, at other widths")
    params = dict(model.named_parameters())
    found: dict[str, tuple[str | None, str, tuple[bool, ...], bool]] = {}
    for name in names:
        scales = tuple(b != d for b, d in zip(base_shapes[name], delta_shapes[name], strict=True))
        in_block = any(name.startswith(b + ".") for b in block_modules)
        declared = next((r for p, r in roles.items() if patterns.matches(p, name)), None)
        if declared is not None:
            found[name] = (declared, "declared", scales, in_block)
            continue
        owner = _owner(modules, name)
        source = "module" if isinstance(owner, _KNOWN_LAYOUT) else "shape"
        found[name] = (_infer(name, owner, scales, in_block), source, scales, in_block)
    for name, (role, _, scales, in_block) in found.items():  # a readout's bias: Θ(1), outside blocks
        weight = name.rpartition(".")[0] + ".weight"
        if role is None and name.endswith(".bias") and len(scales) == 1 and found.get(weight, ("",))[0] == "out":
            found[name] = ("end-vec", "module", scales, in_block)
    unassigned = [f"{n} {tuple(params[n].shape)}" + (" (in a block)" if found[n][3] else "")
                  for n in names if found[n][0] is None]
    if unassigned:
        raise RoleError(f"no role for parameters {unassigned}: they do not grow with width, or their layout is "
                        f"unknown; name them in roles={{pattern: role}} with a role among {', '.join(ROLES)}")
    infos = {}
    for name in names:
        role, source, scales, in_block = found[name]
        assert role is not None
        shape, b_shape = params[name].shape, base_shapes[name]
        dims = [i for i, s in enumerate(scales) if s]
        dim = 1 if 1 in dims else (dims[0] if dims else None)  # fan-in if it scales (mup's width_mult)
        ratio = shape[dim] / b_shape[dim] if dim is not None else 1.0
        # an embedding table is read one row at a time (a one-hot input): its fan-in is 1, and σ = gain
        # (PyTorch's nn.Embedding default N(0, 1), and μP's Θ(1) input weights), not 1/√width
        fan_in = 1 if isinstance(_owner(modules, name), nn.Embedding) else _fan_in(b_shape)
        infos[name] = ParamInfo(name, role, len(dims), float(ratio), in_block, fan_in, source)
    return infos

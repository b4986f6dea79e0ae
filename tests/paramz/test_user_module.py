"""A user's own nn.Module: roles by module type and base shapes, hooks for multipliers, errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paramz
from paramz.roles import build_infos


class Res(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, 2 * width)
        self.down = nn.Linear(2 * width, width)

    def forward(self, x):
        return x + self.down(F.gelu(self.up(self.norm(x))))  # the user writes no multiplier


class Tower(nn.Module):
    """Not from the zoo: an embedding, residual layers, a head, and a stray scalar."""

    def __init__(self, width, depth=3, with_temperature=False):
        super().__init__()
        self.embed = nn.Embedding(50, width)
        self.layers = nn.ModuleList(Res(width) for _ in range(depth))
        self.head = nn.Linear(width, 7)
        if with_temperature:
            self.temperature = nn.Parameter(torch.ones(()))

    def forward(self, idx):
        h = self.embed(idx)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


def meta(width, **kw):
    with torch.device("meta"):
        return Tower(width, **kw)


def apply(model, pz="completep", **kw):
    return paramz.parameterize(model, pz, base=meta(64), delta=meta(128), depth_ratio=2.0,
                               branches=["layers.*.down"], blocks=["layers.*"], **kw)


def test_roles_are_inferred_from_module_types_and_base_shapes():
    plan = apply(Tower(256))
    roles = {n: i.role for n, i in plan.infos.items()}
    assert roles["embed.weight"] == "emb"
    assert roles["layers.0.up.weight"] == roles["layers.2.down.weight"] == "hidden"
    assert roles["layers.1.norm.weight"] == roles["layers.1.up.bias"] == "block-vec"
    assert roles["head.weight"] == "out" and roles["head.bias"] == "end-vec"
    assert plan.infos["head.bias"].width_dims == 0 and plan.infos["layers.0.up.weight"].width_dims == 2


def test_user_module_gets_the_table_numbers():
    model = Tower(256)
    apply(model, "depth-mup")  # mN = 4, mL = 2, α = 1/2
    per = {n: (g["lr"], g["eps"], g["weight_decay"])
           for g in paramz.param_groups(model, "adamw", lr=1.0, weight_decay=1.0, eps=1.0) for n in g["names"]}
    assert per["layers.0.up.weight"] == pytest.approx((2 ** -0.5 / 4, 2 ** -0.5 / 4, 4.0))
    assert per["layers.0.norm.weight"] == pytest.approx((2 ** -0.5, 2 ** -0.5 / 4, 0.0))
    assert per["embed.weight"] == pytest.approx((1.0, 0.25, 1.0))
    assert per["head.bias"] == pytest.approx((1.0, 1.0, 0.0))
    sgd = {n: g["lr"] for g in paramz.param_groups(model, "sgd", lr=1.0) for n in g["names"]}
    assert sgd["head.weight"] == 4.0 and sgd["head.bias"] == 1.0 and sgd["layers.2.down.weight"] == 1.0


def test_hooks_apply_the_forward_multipliers():
    torch.manual_seed(0)
    model = Tower(256)
    plan = apply(model, "completep")
    m = plan.multipliers
    assert (m.out, m.residual) == (0.25, 0.5)
    idx = torch.randint(50, (3, 5))
    h = F.embedding(idx, model.embed.weight)
    for layer in model.layers:  # by hand, with functional calls (hooks do not fire)
        z = F.layer_norm(h, (256,), layer.norm.weight, layer.norm.bias)
        z = F.linear(F.gelu(F.linear(z, layer.up.weight, layer.up.bias)), layer.down.weight, layer.down.bias)
        h = h + m.residual * z
    expected = F.linear(h * m.out, model.head.weight, model.head.bias)
    torch.testing.assert_close(model(idx), expected)


def test_a_parameter_without_a_role_is_named_and_roles_fix_it():
    with pytest.raises(paramz.RoleError, match=r"no role for parameters \['temperature \(\)'\]"):
        paramz.parameterize(Tower(256, with_temperature=True), "mup", base=meta(64, with_temperature=True),
                            delta=meta(128, with_temperature=True))
    plan = paramz.parameterize(Tower(256, with_temperature=True), "mup", base=meta(64, with_temperature=True),
                               delta=meta(128, with_temperature=True), roles={"temperature": "end-vec"})
    assert plan.infos["temperature"].role == "end-vec"


def test_errors_for_misuse():
    model = Tower(256)
    with pytest.raises(paramz.ConfigError, match="base, delta: a user module needs"):
        paramz.parameterize(model, "mup")
    with pytest.raises(paramz.ConfigError, match="branches: 'completep' scales residual branches"):
        paramz.parameterize(model, "completep", base=meta(64), delta=meta(128))
    with pytest.raises(paramz.RoleError, match="roles\\['head.\\*'\\]: unknown role 'readout'"):
        paramz.parameterize(model, "mup", base=meta(64), delta=meta(128), roles={"head.*": "readout"})
    apply(model)
    with pytest.raises(paramz.AlreadyParameterizedError, match="already parameterized"):
        apply(model)
    with pytest.raises(paramz.ConfigError, match="not parameterized"):
        paramz.param_groups(Tower(64), "adamw", lr=1e-3)


@pytest.mark.parametrize("name,tied", [("mlp", False), ("resmlp", False), ("gpt", False), ("gpt", True)])
def test_zoo_declared_roles_agree_with_inference(name, tied):
    dims = {"width": 128, "depth": 3} | ({"d_head": 16, "tied": tied} if name == "gpt" else {})
    model = paramz.models.build(name, **dims)
    base, delta = model.scaled(64), model.scaled(96)
    declared = build_infos(model, base, delta, roles=model.ROLES, blocks=model.BLOCKS, strict=False)
    inferred = build_infos(model, base, delta, blocks=model.BLOCKS)
    strip = lambda infos: {n: dataclasses.replace(i, source="") for n, i in infos.items()}  # noqa: E731
    assert strip(declared) == strip(inferred)
    assert {i.source for i in inferred.values()} == {"module"}  # Linear, Embedding, LayerNorm: known layouts
    assert {i.role for i in declared.values()} >= {"emb", "hidden", "end-vec"}


def test_zoo_errors():
    with pytest.raises(paramz.ConfigError, match="width: 72 is not a multiple of d_head=16"):
        paramz.models.build("gpt", width=72, d_head=16)
    with pytest.raises(paramz.ConfigError, match="model: unknown value 'cnn'; choose one of mlp, resmlp, gpt"):
        paramz.models.build("cnn")
    with pytest.raises(paramz.ConfigError, match="width: must be a positive integer, got -4"):
        paramz.models.build("mlp", width=-4)
    with pytest.raises(paramz.ConfigError, match="base_width: required"):
        paramz.parameterize(paramz.models.build("mlp"), "mup")
    with pytest.raises(paramz.ConfigError, match="base_depth: must be a positive integer, got 0"):
        paramz.parameterize(paramz.models.build("resmlp"), "mup", base_width=64, base_depth=0)
    with pytest.raises(paramz.ConfigError, match="'completep' scales residual branches, and MLP has none"):
        paramz.parameterize(paramz.models.build("mlp", depth=4), "completep", base_width=64, base_depth=2)


def test_scheduler_keeps_the_ratios_and_set_base_lr_respects_them():
    model = paramz.models.build("resmlp", width=256, depth=4)
    paramz.parameterize(model, "mup", base_width=64)
    opt = paramz.make_optimizer(model, "adamw", lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 ** step)
    for _ in range(3):
        opt.step()
        sched.step()
    ratios = {g["lr"] / (1e-2 * 0.125) for g in opt.param_groups}
    assert ratios == {g["lr_mult"] for g in opt.param_groups} == {0.25, 1.0}
    paramz.set_base_lr(opt, 1.0)
    # hidden; emb/out; vectors; the readout bias (its ε has no width factor): four groups
    assert sorted(g["lr"] for g in opt.param_groups) == [0.25, 1.0, 1.0, 1.0]

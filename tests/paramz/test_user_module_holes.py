"""Regressions for the holes a new user found on the own-module path, each with its intent spelled out."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paramz


class Branch(nn.Module):
    """A two-layer branch with children of its own (the case hooks used to multiply several times)."""

    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, 2 * width, bias=False)
        self.fc2 = nn.Linear(2 * width, width, bias=False)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, width, gate=False):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = Branch(width)
        if gate:
            self.gate = nn.Parameter(torch.ones(1))  # does not grow with width

    def forward(self, h):
        return h + self.mlp(self.norm(h))


class Net(nn.Module):
    def __init__(self, width, depth=3, gate=False):
        super().__init__()
        self.embed = nn.Embedding(40, width)
        self.layers = nn.ModuleList(Layer(width, gate) for _ in range(depth))
        self.head = nn.Linear(width, 5, bias=False)

    def forward(self, idx):
        h = self.embed(idx)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


def meta(width, **kw):
    with torch.device("meta"):
        return Net(width, **kw)


def by_hand(model, idx, r, out):
    """The forward pass with the branch output multiplied by ``r`` exactly once (no hooks involved)."""
    h = F.embedding(idx, model.embed.weight)
    for layer in model.layers:
        z = F.layer_norm(h, h.shape[-1:], layer.norm.weight, layer.norm.bias)
        h = h + r * F.linear(F.gelu(F.linear(z, layer.mlp.fc1.weight)), layer.mlp.fc2.weight)
    return F.linear(h * out, model.head.weight)


@pytest.mark.parametrize("branches", [
    ["layers.*.mlp"],                                      # a glob naming a module with children
    ["layers.0.mlp", "layers.1.mlp", "layers.2.mlp"],      # exact names
    ["layers.*.mlp", "layers.*.mlp.fc2", "layers.*.mlp.fc1"],  # nested children named too
    ["layers.**.mlp"],                                     # ** spans components
])
def test_each_branch_output_is_multiplied_exactly_once(branches):
    torch.manual_seed(0)
    model = Net(256)
    plan = paramz.parameterize(model, "completep", base=meta(64), delta=meta(128), depth_ratio=4.0,
                               branches=branches, blocks=["layers.*"])
    assert plan.branches == ("layers.0.mlp", "layers.1.mlp", "layers.2.mlp")
    r, out = plan.multipliers.residual, plan.multipliers.out
    assert (r, out) == (0.25, 0.25)
    idx = torch.randint(40, (2, 7))
    torch.testing.assert_close(model(idx), by_hand(model, idx, r, out))
    # r⁴-style compounding would be far off; r once is exact
    assert not torch.allclose(model(idx), by_hand(model, idx, r ** 3, out), atol=1e-4)


def test_a_pattern_that_names_nothing_is_an_error_with_the_closest_names():
    with pytest.raises(paramz.ConfigError, match=r"branches: 'layer\.\*' matches no modules \(closest: layers\.\*"):
        paramz.parameterize(Net(256), "completep", base=meta(64), delta=meta(128), depth_ratio=2.0,
                            branches=["layer.*"])
    with pytest.raises(paramz.ConfigError, match=r"blocks: 'layer\.\*' matches no modules"):
        paramz.parameterize(Net(256), "completep", base=meta(64), delta=meta(128), depth_ratio=2.0,
                            branches=["layers.*.mlp"], blocks=["layer.*"])
    with pytest.raises(paramz.ConfigError, match=r"roles: 'temprature' matches no parameters"):
        paramz.parameterize(Net(256), "mup", base=meta(64), delta=meta(128), roles={"temprature": "end-vec"})
    # no prefix matching: a module name does not name its children (fc1/fc2 are not branches of their own)
    assert paramz.patterns.matching(["layers.0.mlp"], ["layers.0.mlp", "layers.0.mlp.fc1"]) == ["layers.0.mlp"]


@pytest.mark.parametrize("ratio, message", [
    (None, "depth_ratio: required with 'completep'"),
    (float("nan"), "depth_ratio: must be a finite positive number"),
    (float("inf"), "depth_ratio: must be a finite positive number"),
    (0.0, "depth_ratio: must be a finite positive number"),
    (-2.0, "depth_ratio: must be a finite positive number"),
    (True, "depth_ratio: must be a finite positive number"),
])
def test_depth_ratio_is_required_finite_and_positive_with_a_depth_rule(ratio, message):
    with pytest.raises(paramz.ConfigError, match=message):
        paramz.parameterize(Net(256), "completep", base=meta(64), delta=meta(128), depth_ratio=ratio,
                            branches=["layers.*.mlp"])


def test_a_vector_that_does_not_grow_with_width_has_no_default_role_inside_a_block():
    with pytest.raises(paramz.RoleError, match=r"layers\.0\.gate \(1,\) \(in a block\)"):
        paramz.parameterize(Net(256, gate=True), "completep", base=meta(64, gate=True), delta=meta(128, gate=True),
                            depth_ratio=4.0, branches=["layers.*.mlp"], blocks=["layers.*"])
    model = Net(256, gate=True)
    paramz.parameterize(model, "completep", base=meta(64, gate=True), delta=meta(128, gate=True), depth_ratio=4.0,
                        branches=["layers.*.mlp"], blocks=["layers.*"], roles={"layers.*.gate": "block-vec"})
    lr = {n: g["lr"] for g in paramz.param_groups(model, "adamw", lr=1.0) for n in g["names"]}
    assert lr["layers.1.gate"] == 1.0 and lr["layers.1.norm.weight"] == 1.0  # CompleteP block-vec: η·mL^0
    assert lr["layers.1.mlp.fc1.weight"] == 0.25                            # hidden η/mN


def test_bad_model_fields_and_hparams_are_named():
    for dims, message in [(dict(d_in=-3), "d_in: must be a positive integer, got -3"),
                          (dict(d_in=0), "d_in: must be a positive integer, got 0"),
                          (dict(width=True), "width: must be a positive integer, got True"),
                          (dict(bias="no"), "bias: must be true or false, got 'no'"),
                          (dict(activation="rm -rf /"), "activation: unknown value 'rm -rf /'")]:
        with pytest.raises(paramz.ConfigError, match=message):
            paramz.models.build("mlp", **dims)
    with pytest.raises(paramz.ConfigError, match="d_head: must be a positive integer, got 0"):
        paramz.models.build("gpt", d_head=0)
    with pytest.raises(paramz.ConfigError, match=r"base_width: 40 does not fit GPT \(width: 40 is not a multiple"):
        paramz.parameterize(paramz.models.build("gpt", width=64, d_head=16), "mup", base_width=40)
    model = paramz.models.build("mlp", width=128)
    paramz.parameterize(model, "mup", base_width=64)
    for kwargs, message in [(dict(lr=-1e-3), "lr: must be a number finite and > 0"),
                            (dict(lr=math.nan), "lr: must be a number finite and > 0"),
                            (dict(lr=1e-3, weight_decay=-0.1), "weight_decay: must be a number finite and ≥ 0"),
                            (dict(lr=1e-3, eps=0.0), "eps: must be a number finite and > 0")]:
        with pytest.raises(paramz.ConfigError, match=message):
            paramz.param_groups(model, "adamw", **kwargs)


def test_a_base_wider_than_the_model_is_said():
    with pytest.warns(paramz.ParamzWarning, match="narrower than its base"):
        plan = paramz.parameterize(paramz.models.build("mlp", width=64), "mup", base_width=256)
    assert any("narrower than its base" in w for w in plan.warnings)


class Odd(nn.Module):
    """A raw matrix parameter (layout unknown), an attention-named module, a readout with fixed fan-in."""

    def __init__(self, width):
        super().__init__()
        self.embed = nn.Embedding(10, width)
        self.mix = nn.Parameter(torch.randn(width, width))
        self.self_attn = nn.Linear(width, width)
        self.head = nn.Linear(width, width)  # its fan-out grows: no readout at all

    def forward(self, idx):
        return self.head(self.self_attn(self.embed(idx) @ self.mix))


def test_explain_lists_every_parameter_and_warns_about_what_looks_off():
    model = Net(256)
    paramz.parameterize(model, "depth-mup", base=meta(64), delta=meta(128), depth_ratio=4.0,
                        branches=["layers.*.mlp"])  # blocks default to the branches: the norms sit outside
    frame = paramz.explain(model)
    assert list(frame.index) == [n for n, _ in model.named_parameters()]
    row = frame.loc["layers.0.mlp.fc1.weight"]
    assert (row.role, row.in_block, row.width_dims, row.width_ratio) == ("hidden", True, 2, 4.0)
    assert row.lr_mult == pytest.approx(4 ** -0.5 / 4) and row.forward == 0.5 and row.wd_mult == 4.0
    assert frame.loc["head.weight"].role == "out" and frame.loc["head.weight"].forward == 0.25
    assert frame.attrs["residual_multiplier"] == 0.5 and frame.attrs["branches"] == [
        "layers.0.mlp", "layers.1.mlp", "layers.2.mlp"]
    assert any("layers.0.norm.weight sits beside the branch" in w for w in frame.attrs["warnings"])
    odd = Odd(256)
    with torch.device("meta"):
        base, delta = Odd(64), Odd(128)
    plan = paramz.parameterize(odd, "mup", base=base, delta=delta)
    text = " ".join(plan.warnings)
    assert "no readout found" in text and "mix: role 'hidden' was guessed from its shape alone" in text
    assert "attention modules (self_attn, ...) keep their own logit scale" in text
    sgd = paramz.explain(odd, "sgd")
    assert sgd.loc["embed.weight"].lr_mult == 4.0 and sgd.attrs["optimizer"] == "sgd"

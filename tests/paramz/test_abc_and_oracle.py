"""abc symmetry (TP V Lemma J.1) and microsoft/mup as an oracle for μP on an MLP."""

from __future__ import annotations

import mup
import pytest
import torch
from torch import nn

import paramz
from paramz.plan import HParams


def train_with_theta(layer, theta, optimizer, steps=3, lr=1e-2):
    """Trains an MLP whose `layer` (emb or out) is reparameterized by θ: mult·θ, init/θ, LR/θ or /θ²."""
    torch.manual_seed(0)
    model = paramz.models.build("mlp", width=128, depth=2)
    gains = {"emb": 1.0, "hidden": 1.0, "out": 1.0}
    gains[layer] /= theta
    hp = HParams(init_gain=gains, alpha_in=theta if layer == "emb" else 1.0,
                 alpha_out=theta if layer == "out" else 1.0)
    plan = paramz.parameterize(model, "mup", base_width=64, hp=hp)
    lr_scale = 1 / theta if optimizer == "adamw" else 1 / theta ** 2
    groups = []
    for name, p in model.named_parameters():
        rule = plan.rule(name, optimizer)
        # the output multiplier of emb covers its bias; the Table-8 readout's does not
        scaled = name.startswith(layer + ".") and (layer == "emb" or name.endswith("weight"))
        groups.append({"params": [p], "lr": lr * rule.lr_mult * (lr_scale if scaled else 1.0)})
    opt = torch.optim.Adam(groups, eps=1e-30) if optimizer == "adamw" else torch.optim.SGD(groups)
    x = torch.randn(16, 32, generator=torch.Generator().manual_seed(1))
    y = torch.randint(10, (16,), generator=torch.Generator().manual_seed(2))
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model(x).detach()


@pytest.mark.parametrize("layer", ["emb", "out"])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
@pytest.mark.parametrize("theta", [4.0, 0.3])
def test_abc_symmetry_leaves_training_unchanged(layer, optimizer, theta):
    ref = train_with_theta(layer, 1.0, optimizer)
    moved = train_with_theta(layer, theta, optimizer)
    assert not torch.equal(ref, train_with_theta(layer, 1.0, optimizer, lr=2e-2))  # training does move
    torch.testing.assert_close(moved, ref, rtol=1e-4, atol=1e-5)


class MupMLP(nn.Module):
    """The same MLP written the mup way (MuReadout), names matching paramz's MLP."""

    def __init__(self, width: int, bias: bool = True) -> None:
        super().__init__()
        self.emb = nn.Linear(32, width, bias=bias)
        self.hidden = nn.ModuleList(nn.Linear(width, width, bias=bias) for _ in range(2))
        self.out = mup.MuReadout(width, 10, bias=bias)

    def forward(self, x):
        h = torch.relu(self.emb(x))
        for layer in self.hidden:
            h = torch.relu(layer(h))
        return self.out(h)


def oracle(width):
    torch.manual_seed(0)
    model = MupMLP(width)
    mup.set_base_shapes(model, MupMLP(64), delta=MupMLP(128))
    return model


def ours(width):
    torch.manual_seed(0)
    model = paramz.models.build("mlp", width=width, depth=2)
    # PyTorch's default (kaiming_uniform, a=√5) has std 1/sqrt(3·fan_in): gain 1/√3
    paramz.parameterize(model, "mup", base_width=64, hp=HParams(init_gain=dict.fromkeys(("emb", "hidden", "out"),
                                                                                        3 ** -0.5)))
    return model


@pytest.mark.parametrize("width", [256, 1024])
def test_init_scale_matches_mup(width):
    theirs, mine = oracle(width), ours(width)
    for (name, p), (_, q) in zip(theirs.named_parameters(), mine.named_parameters()):
        if name.endswith("weight"):
            assert q.std().item() == pytest.approx(p.std().item(), rel=0.04), name
    assert mine.out.weight.std().item() == pytest.approx(64 ** -0.5 / 3 ** 0.5, rel=0.04)  # constant in width


@pytest.mark.parametrize("width", [64, 256, 1024])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_effective_lr_and_weight_decay_match_mup(width, optimizer):
    theirs, mine = oracle(width), ours(width)
    if optimizer == "adamw":
        opt = mup.MuAdam(theirs.parameters(), lr=1e-3, weight_decay=0.1)
    else:
        opt = mup.MuSGD(theirs.parameters(), lr=1e-3, weight_decay=0.1)
    lr_of, wd_of = {}, {}
    for g in opt.param_groups:
        for p in g["params"]:
            lr_of[id(p)], wd_of[id(p)] = g["lr"], g["weight_decay"]
    by_name = {n: id(p) for n, p in theirs.named_parameters()}
    checked = 0
    for g in paramz.param_groups(mine, optimizer, lr=1e-3, weight_decay=0.1):
        for name in g["names"]:
            assert g["lr"] == pytest.approx(lr_of[by_name[name]], rel=1e-12), name
            if name.endswith("weight"):  # paramz never decays vectors; mup decays everything
                assert g["weight_decay"] == pytest.approx(wd_of[by_name[name]], rel=1e-12), name
            checked += 1
    assert checked == 8


@pytest.mark.parametrize("width", [64, 512])
def test_forward_multiplier_matches_mup_readout(width):
    theirs, mine = oracle(width), ours(width)
    theirs.load_state_dict(mine.state_dict())
    x = torch.randn(5, 32)
    torch.testing.assert_close(mine(x), theirs(x), rtol=1e-6, atol=1e-6)

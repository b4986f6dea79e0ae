"""The worked plugin (docs/examples/llama_paramz, installed by `make install`) against microsoft/mup.

The Llama-style decoder has no declared roles: paramz infers them from module types and base shapes
and hooks the multipliers. mup, given the same model with its readout swapped for `mup.MuReadout`,
must agree on every parameter's init scale, Adam and SGD learning rate and weight decay, and on the
forward pass. One documented difference: mup keeps Adam's ε, paramz divides it by mN (its
gradients shrink like 1/mN: docs/rules.md); that is checked as such.
"""

from __future__ import annotations

import mup
import pytest
import torch
from llama_paramz.model import Llama, LlamaConfig

import paramz

BASE, DELTA = 64, 128


class MupLlama(Llama):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__(config)
        self.lm_head = mup.MuReadout(config.width, config.vocab_size, bias=False, readout_zero_init=False)


def config(width: int) -> LlamaConfig:
    return LlamaConfig(width=width, depth=3, d_head=16, vocab_size=48, seq_len=16)


def theirs(width: int) -> MupLlama:
    torch.manual_seed(0)
    model = MupLlama(config(width))
    with torch.device("meta"):
        base, delta = MupLlama(config(BASE)), MupLlama(config(DELTA))
    mup.set_base_shapes(model, base, delta=delta)
    return model


def ours(width: int) -> Llama:
    model = Llama(config(width))
    paramz.parameterize(model, "mup", base_width=BASE)
    return model


@pytest.mark.parametrize("width", [64, 256])
def test_init_scale_per_parameter_matches_mup(width):
    model, oracle = ours(width), theirs(width)
    plan = paramz.plan_of(model)
    for name, p in oracle.named_parameters():
        # mup.init.normal_: σ for ≤ 1 infinite dim, σ/√width_mult for 2 (hidden); the same exponents here
        mup_scale = p.infshape.width_mult() ** -0.5 if p.infshape.ninf() == 2 else 1.0
        assert plan.factor(plan.infos[name], "init") == pytest.approx(mup_scale, rel=1e-12), name
        assert plan.infos[name].width_dims == p.infshape.ninf(), name


@pytest.mark.parametrize("width", [64, 256, 512])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_learning_rates_and_weight_decay_match_mup(width, optimizer):
    model, oracle = ours(width), theirs(width)
    opt = (mup.MuAdam if optimizer == "adamw" else mup.MuSGD)(oracle.parameters(), lr=1e-3, weight_decay=0.1)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    wd_of = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    by_name = {n: id(p) for n, p in oracle.named_parameters()}
    checked = 0
    for group in paramz.param_groups(model, optimizer, lr=1e-3, weight_decay=0.1, eps=1e-8):
        for name in group["names"]:
            assert group["lr"] == pytest.approx(lr_of[by_name[name]], rel=1e-12), name
            if group["weight_decay"]:  # paramz never decays vectors (norm gains); mup decays everything
                assert group["weight_decay"] == pytest.approx(wd_of[by_name[name]], rel=1e-12), name
            if optimizer == "adamw":  # the documented difference: ε/mN (mup keeps ε)
                assert group["eps"] == pytest.approx(1e-8 * BASE / width, rel=1e-12), name
            checked += 1
    assert checked == len(list(model.parameters())) == 3 * 9 + 3


@pytest.mark.parametrize("width", [64, 256])
def test_forward_matches_mup_readout(width):
    model, oracle = ours(width), theirs(width)
    oracle.load_state_dict(model.state_dict())
    idx = torch.randint(48, (2, 16))
    torch.testing.assert_close(model(idx), oracle(idx), rtol=1e-5, atol=1e-5)
    rows, summary = paramz.explain_rows(model)
    assert summary["readout_multiplier"] == BASE / width and summary["warnings"] == []
    assert {r.source for r in rows} == {"module"}  # every role from a module of known layout

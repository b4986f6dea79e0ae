"""docs/rules.md check 1: at the base shape every parameterization is the same model, bit for bit."""

from __future__ import annotations

import pytest
import torch

import paramz

ZOO = {
    "mlp": dict(width=64, depth=2),
    "resmlp": dict(width=64, depth=3),
    "gpt": dict(width=64, depth=2, d_head=16, seq_len=16, vocab_size=32),
    "gpt-tied": dict(width=64, depth=2, d_head=16, seq_len=16, vocab_size=32, tied=True),
}


def make(kind, pz, seed=0, **opts):
    torch.manual_seed(seed)
    model = paramz.models.build(kind.removesuffix("-tied"), **ZOO[kind])
    paramz.parameterize(model, pz, base_width=64, **opts)
    return model


def batch(kind):
    g = torch.Generator().manual_seed(1)
    if kind.startswith("gpt"):
        return torch.randint(32, (4, 16), generator=g)
    return torch.randn(8, 32, generator=g)


def group_numbers(model, optimizer):
    return [(tuple(g["names"]), g["lr"], g.get("eps"), g["weight_decay"])
            for g in paramz.param_groups(model, optimizer, lr=3e-3, weight_decay=0.1, eps=1e-8)]


@pytest.mark.parametrize("kind", list(ZOO))
def test_base_shape_is_identical_in_every_parameterization(kind):
    ref = make(kind, "sp")
    x = batch(kind)
    for pz in ("mup", "depth-mup", "completep", paramz.get("completep", alpha=0.7)):
        model = make(kind, pz)
        for (n1, p1), (n2, p2) in zip(ref.named_parameters(), model.named_parameters()):
            assert n1 == n2 and torch.equal(p1, p2), (pz, n1)
        assert torch.equal(ref(x), model(x)), pz
        for opt in ("adamw", "sgd"):
            assert group_numbers(model, opt) == group_numbers(ref, opt), (pz, opt)


@pytest.mark.parametrize("kind", ["mlp", "gpt"])
def test_one_step_of_training_is_identical_at_base(kind):
    x = batch(kind)
    outs = []
    for pz in ("sp", "mup", "completep"):
        model = make(kind, pz)
        opt = paramz.make_optimizer(model, "adamw", lr=1e-2, weight_decay=0.1)
        model(x).float().pow(2).mean().backward()
        opt.step()
        outs.append(model(x))
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_zero_init_changes_only_the_readout_and_query():
    ref = make("gpt", "mup")
    model = make("gpt", "mup", zero_init_readout=True, zero_init_query=True)
    for (name, p1), (_, p2) in zip(ref.named_parameters(), model.named_parameters()):
        if name == "lm_head.weight" or name.endswith("attn.q.weight"):
            assert p2.abs().max() == 0 and p1.abs().max() > 0, name
        else:
            assert torch.equal(p1, p2), name


def test_zero_init_readout_with_tied_embeddings_is_refused():
    with pytest.raises(paramz.ConfigError, match="zero_init_readout: the readout is tied"):
        make("gpt-tied", "mup", zero_init_readout=True)

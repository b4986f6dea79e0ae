"""The rule table against hand-computed numbers from docs/rules.md, one entry at a time."""

from __future__ import annotations

import math

import pytest

import paramz
from paramz.rules import QUANTITIES, ROLES


def groups_by_role(model, optimizer, lr=1.0, wd=1.0, eps=1.0):
    """{(role, first name): (lr, eps, wd)} from the param groups, looked up per parameter."""
    out = {}
    for g in paramz.param_groups(model, optimizer, lr=lr, weight_decay=wd, eps=eps):
        for name in g["names"]:
            out[name] = (g["lr"], g.get("eps"), g["weight_decay"])
    return out


def gpt(pz, width, depth, base_width=64, base_depth=2, **opts):
    model = paramz.models.build("gpt", width=width, depth=depth, d_head=16, seq_len=8, vocab_size=16)
    paramz.parameterize(model, pz, base_width=base_width, base_depth=base_depth, **opts)
    return model


# docs/rules.md check 3, the worked example: mN = mL = 4.
def test_completep_at_mn4_ml4_matches_rules_item_3():
    g = groups_by_role(gpt("completep", 256, 8), "adamw", lr=1.0, wd=1.0, eps=1.0)
    assert g["blocks.0.attn.q.weight"] == (0.25, 1 / 16, 4.0)   # hidden: η/4, ε/16, 4λ
    assert g["blocks.3.ln_1.weight"] == (1.0, 1 / 16, 0.0)      # block-vec: η, ε/16, no decay
    assert g["wte.weight"] == (1.0, 0.25, 1.0)                  # emb: η, ε/mN, λ
    assert g["lm_head.weight"] == (1.0, 0.25, 1.0)              # out
    assert g["ln_f.weight"] == (1.0, 0.25, 0.0)                 # end-vec: no depth factor


def test_depth_mup_at_mn4_ml4_matches_rules_item_3():
    g = groups_by_role(gpt("depth-mup", 256, 8), "adamw")
    assert g["blocks.5.mlp.fc.weight"] == (1 / 8, 1 / 8, 4.0)   # hidden η/8, block ε 1/8
    assert g["blocks.5.ln_2.bias"] == (0.5, 1 / 8, 0.0)         # block-vec η/2


@pytest.mark.parametrize("alpha", [0.5, 0.625, 0.75, 1.0])
@pytest.mark.parametrize("mn,ml", [(1, 1), (2, 8), (4, 4), (8, 2), (0.5, 0.5)])
def test_every_role_and_optimizer_against_the_formulas(alpha, mn, ml):
    """docs/rules.md per-parameter formulas, with the three documented decisions, for a GPT."""
    base_w, base_d = 64, 4
    width, depth = int(base_w * mn), int(base_d * ml)
    if mn < 1:  # allowed, with a word: the base HPs were tuned on a wider model
        with pytest.warns(paramz.ParamzWarning, match="narrower than its base"):
            model = gpt("completep", width, depth, base_width=base_w, base_depth=base_d, alpha=alpha)
    else:
        model = gpt("completep", width, depth, base_width=base_w, base_depth=base_d, alpha=alpha)
    adam, sgd = groups_by_role(model, "adamw"), groups_by_role(model, "sgd")
    expect = {  # name: (adam_lr, adam_eps, adam_wd, sgd_lr, sgd_wd)
        "wte.weight": (1, 1 / mn, 1, mn, 1 / mn),
        "wpe.weight": (1, 1 / mn, 1, mn, 1 / mn),
        "blocks.1.attn.k.weight": (ml ** (alpha - 1) / mn, ml ** -alpha / mn, mn, ml ** (2 * alpha - 1), 1),
        "blocks.1.ln_1.weight": (ml ** (alpha - 1), ml ** -alpha / mn, 0, mn * ml ** (2 * alpha - 1), 0),
        "ln_f.bias": (1, 1 / mn, 0, mn, 0),
        "lm_head.weight": (1, 1 / mn, 1, mn, 1 / mn),
    }
    for name, (alr, aeps, awd, slr, swd) in expect.items():
        assert adam[name][0] == pytest.approx(alr, rel=1e-12), name
        assert adam[name][1] == pytest.approx(aeps, rel=1e-12), name
        assert adam[name][2] == pytest.approx(awd, rel=1e-12), name
        assert sgd[name][0] == pytest.approx(slr, rel=1e-12), name
        assert sgd[name][2] == pytest.approx(swd, rel=1e-12), name
    m = model.multipliers
    assert m.out == pytest.approx(1 / mn) and m.emb == 1.0
    assert m.residual == pytest.approx(ml ** -alpha)
    assert m.attn_scale == pytest.approx(16 ** -0.5)  # d_head fixed: the μP form is a constant


@pytest.mark.parametrize("sp_init,hidden_std_exp", [("fan_in", -0.5), ("const", 0.0)])
def test_sp_has_one_lr_and_only_its_init_varies(sp_init, hidden_std_exp):
    model = paramz.models.build("resmlp", width=256, depth=8)
    plan = paramz.parameterize(model, "sp", base_width=64, base_depth=2, sp_init=sp_init)
    for name in plan.infos:
        for opt in ("adamw", "sgd"):
            r = plan.rule(name, opt)
            assert (r.lr_mult, r.eps_mult, r.wd_mult) == (1.0, 1.0, 1.0), name
    # σ at base = 1/sqrt(fan_in at base); SP fan-in shrinks hidden and readout as mN^-1/2.
    assert plan.rule("blocks.0.fc1.weight", "adamw").init_std == pytest.approx(64 ** -0.5 * 4 ** hidden_std_exp)
    assert plan.rule("out.weight", "adamw").init_std == pytest.approx(64 ** -0.5 * 4 ** hidden_std_exp)
    assert plan.rule("emb.weight", "adamw").init_std == pytest.approx(32 ** -0.5)
    assert model.multipliers.residual == 1.0 and model.multipliers.out == 1.0


def test_mup_init_stds_and_readout_bias_has_no_width_factor():
    model = paramz.models.build("mlp", width=512, depth=2, d_in=32, d_out=10)
    plan = paramz.parameterize(model, "mup", base_width=64)
    assert plan.rule("hidden.0.weight", "adamw").init_std == pytest.approx(512 ** -0.5)
    assert plan.rule("out.weight", "adamw").init_std == pytest.approx(64 ** -0.5)  # Table 8: constant
    assert plan.rule("emb.weight", "adamw").init_std == pytest.approx(32 ** -0.5)
    bias = plan.rule("out.bias", "sgd")
    assert (bias.lr_mult, plan.rule("out.bias", "adamw").eps_mult) == (1.0, 1.0)  # readout bias: η, ε
    assert plan.rule("hidden.0.bias", "sgd").lr_mult == 8.0                      # vectors: η·mN


def test_emb_lr_exponent_override_u_mup():
    model = paramz.models.build("mlp", width=256)
    plan = paramz.parameterize(model, "mup", base_width=64, emb_lr_exponent=-0.5)
    assert plan.rule("emb.weight", "adamw").lr_mult == pytest.approx(0.5)


def test_table_is_plain_data_for_every_row():
    for name in paramz.NAMES:
        table = paramz.get(name).table()
        assert set(table["roles"]) == set(ROLES)
        assert all(set(q) == set(QUANTITIES) for q in table["roles"].values())
    assert paramz.get("completep").table()["residual_branch"] == {"width": 0.0, "depth": -1.0}
    assert paramz.get("mup").table()["roles"]["hidden"]["adam_lr"] == {"width": -1.0, "depth": 0.0}


@pytest.mark.parametrize("call,message", [
    (lambda: paramz.get("mupp"), "parameterization: unknown value 'mupp'; choose one of sp, mup"),
    (lambda: paramz.get("completep", alpha=1.5), "alpha: 1.5 is outside [0.5, 1]"),
    (lambda: paramz.get("depth-mup", alpha=0.2), "alpha: 0.2 is outside [0.5, 1]"),
    (lambda: paramz.get("mup", alpha=0.5), "alpha: 'mup' has no depth rule"),
    (lambda: paramz.get("mup", sp_init="const"), "sp_init: only SP has init variants"),
    (lambda: paramz.get("sp", sp_init="uniform"), "sp_init: unknown value 'uniform'"),
    (lambda: paramz.get("sp", colour="red"), "option: unknown value 'colour'"),
])
def test_bad_names_and_options_are_refused_with_the_field(call, message):
    with pytest.raises(paramz.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call()


def test_alpha_endpoints_and_free_float_accepted():
    assert paramz.get("depth-mup", alpha=1).alpha == 1.0
    assert paramz.get("completep", alpha=0.5).alpha == 0.5
    assert math.isclose(paramz.get("completep", alpha=0.8).residual_multiplier(4.0), 4 ** -0.8)


def test_tied_readout_takes_the_table_8_multiplier_and_embedding_rules():
    model = paramz.models.build("gpt", width=256, depth=2, d_head=16, seq_len=8, vocab_size=16, tied=True)
    plan = paramz.parameterize(model, "mup", base_width=64)
    assert model.lm_head is None and model.multipliers.out == 0.25
    assert [i.role for i in plan.infos.values()].count("out") == 0
    assert plan.rule("wte.weight", "sgd").lr_mult == 4.0 and plan.rule("wte.weight", "adamw").lr_mult == 1.0

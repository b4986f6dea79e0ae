"""Specs: validation with field-named errors, bounds, expansion into content-hashed trials."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.search import expand
from sweeps.spec import SpecError, load_spec, parse_spec
from tests.sweeps.conftest import cli, small_spec


@pytest.mark.parametrize("overrides,message", [
    ({"task": {"name": "imagenet"}}, "task.name: unknown task 'imagenet'; choose one of teacher, icl-copy, bytes"),
    ({"model": {"family": "cnn"}}, "model.family: unknown model 'cnn'; choose one of mlp, resmlp, gpt"),
    ({"parameterizations": [{"name": "ntk"}]}, "parameterizations.0: parameterization: unknown value 'ntk'"),
    ({"parameterizations": [{"name": "completep", "alpha": 2}]}, "alpha: 2.0 is outside [0.5, 1]"),
    ({"steps": -5}, "steps: Input should be greater than or equal to 1"),
    ({"widths": []}, "widths: List should have at least 1 item"),
    ({"widths": [64, -1]}, "widths.1: Input should be greater than or equal to 1"),
    ({"lr": {"values": []}}, "lr: values must be a non-empty list of positive LRs"),
    ({"lr": {"log2_min": -4, "log2_max": -8}}, "lr: log2_max -8.0 is below log2_min -4.0"),
    ({"seeds": list(range(600))}, "the grid has 2400 trials, over limits.max_trials 2000"),
    ({"task": {"name": "icl-copy"}}, "task: 'icl-copy' does not fit model 'mlp'"),
    ({"task": {"name": "teacher", "options": {"colour": 1}}}, "task.options: colour: unknown field"),
    ({"task": {"name": "teacher", "options": {"d_in": -5}}}, "task.options: d_in: Input should be greater than or"),
    ({"task": {"name": "teacher", "options": {"d_in": "abc"}}}, "task.options: d_in: Input should be a valid integer"),
    ({"task": {"name": "teacher", "options": {"eval_size": 10**12}}}, "task.options: eval_size: Input should be less"),
    ({"task": {"name": "teacher", "options": {"kind": "bogus"}}}, "task.options: kind: Input should be 'classific"),
    ({"seeds": [2**63]}, "seeds.0: Input should be less than or equal to 9223372036854775807"),
    ({"seeds": [-1]}, "seeds.0: Input should be greater than or equal to 0"),
    ({"steps": True}, "steps: Input should be a valid integer"),
    ({"lr": {"values": [True]}}, "lr.values.0: must be a number, not true/false"),
    ({"optimizer": {"betas": [2, -1]}}, "optimizer.betas.0: Input should be less than 1"),
    ({"optimizer": {"eps": 1e300}}, "optimizer.eps: Input should be less than or equal to 1"),
    ({"optimizer": {"weight_decay": 1e300}}, "optimizer.weight_decay: Input should be less than or equal to 10"),
    ({"base_width": 10**30}, "base_width: Input should be less than or equal to 1048576"),
    ({"base_depth": 10**12}, "base_depth: Input should be less than or equal to 1048576"),
    ({"search": {"step": 1e-300}}, "search.step: Input should be greater than or equal to 0.015625"),
    ({"model": {"family": "mlp", "dims": {"activation": "rm -rf /"}}}, "model.dims: activation: Input should be 're"),
    ({"model": {"family": "mlp", "dims": {"bias": "no"}}}, "model.dims: bias: Input should be a valid boolean"),
    *[({"model": {"family": "gpt", "dims": {"d_head": bad}}, "task": {"name": "icl-copy"}},
       f"model.dims: d_head: {why}")
      for bad, why in ((0, "Input should be greater than or equal to 1"), (-16, "Input should be greater than"),
                       (False, "Input should be a valid integer"), ("x", "Input should be a valid integer"),
                       (None, "Input should be a valid integer"), ([1], "Input should be a valid integer"))],
    ({"model": {"family": "gpt", "dims": {"ff_mult": 10**9}}, "task": {"name": "icl-copy"}},
     "model.dims: ff_mult: Input should be less than or equal to 1048576"),
    ({"model": {"family": "gpt"}, "task": {"name": "icl-copy"}, "widths": [40]},
     "widths: [40] are not multiples of d_head=16"),
    ({"parameterizations": [{"name": "completep"}]}, "depth rules need residual blocks"),
    ({"model": {"family": "mlp", "dims": {"d_in": 4}}}, "dims: 'd_in' is not settable here"),
    ({"learning_rate": 1e-3}, "learning_rate: unknown field; remove it or check its spelling"),
    ({"base_width": None}, "base_width: Input should be a valid integer"),
    ({"analysis": {"tolerance": 0}}, "analysis.tolerance: Input should be greater than 0"),
])
def test_invalid_specs_name_the_field(overrides, message):
    with pytest.raises(SpecError) as exc:
        parse_spec(small_spec(**overrides))
    assert message in str(exc.value)


def test_parameterization_labels_are_unique_per_setting():
    spec = parse_spec(small_spec(model={"family": "resmlp"}, parameterizations=[
        {"name": "mup"}, {"name": "mup", "zero_init_readout": True}, {"name": "completep", "alpha": 0.75},
        {"name": "sp", "sp_init": "const"}]))
    assert [p.label for p in spec.parameterizations] == [
        "mup", "mup(zero_init_readout)", "completep(alpha=0.75)", "sp(sp_init=const)"]
    assert len({t.label for t in expand(spec)}) == 4
    with pytest.raises(SpecError, match="parameterizations: \\['mup', 'mup'\\] has duplicates"):
        parse_spec(small_spec(parameterizations=[{"name": "mup"}, {"name": "mup"}]))


def test_missing_field_says_required():
    data = small_spec()
    del data["steps"]
    with pytest.raises(SpecError, match="steps: required; add it"):
        parse_spec(data)


def test_lr_grid_and_expansion_ids():
    spec = parse_spec(small_spec(lr={"log2_min": -10, "log2_max": -6, "log2_step": 2}, seeds=[0, 1],
                                 parameterizations=[{"name": "sp"}, {"name": "mup"}]))
    assert spec.lr.lrs() == [2.0 ** -10, 2.0 ** -8, 2.0 ** -6]
    trials = expand(spec)
    assert len(trials) == spec.n_trials == 2 * 2 * 1 * 3 * 2
    assert len({t.id for t in trials}) == len(trials)
    assert [t.id for t in expand(parse_spec(small_spec(lr={"log2_min": -10, "log2_max": -6, "log2_step": 2},
                                                       seeds=[0, 1], parameterizations=[{"name": "sp"},
                                                                                        {"name": "mup"}])))] == \
        [t.id for t in trials]  # same config -> same id
    assert trials[0].base_depth == 1


@pytest.mark.parametrize("path", sorted(Path("sweeps/examples").glob("*.yaml")))
def test_example_specs_load(path):
    spec = load_spec(path)
    if spec.search is None:
        assert spec.n_trials == len(expand(spec)) > 0
    else:  # an adaptive sweep starts with the coarse opening of every parameterization at the first scale
        from sweeps.search import strategy_for
        first = strategy_for(spec).first_trials()
        assert {c.label for c in first} == {p.label for p in spec.parameterizations}
        assert {(c.width, c.depth) for c in first} == {(min(spec.widths), min(spec.depths))}
        assert 0 < len(first) < spec.n_trials


def test_cli_refuses_a_bad_spec_with_one_line(spec_file):
    proc = cli("sweep", "run", spec_file(steps=0), "--executor", "local", "--store", "sqlite:///:memory:")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "paramz: error: steps: Input should be greater than or equal to 1"
    proc = cli("sweep", "run", "no-such-spec.yaml")
    assert proc.returncode == 2 and "SPEC: no file 'no-such-spec.yaml'" in proc.stderr


def test_the_analysis_tolerance_is_part_of_the_id_only_when_set():
    plain = parse_spec(small_spec())
    assert parse_spec(small_spec(analysis={"tolerance": 1 / 3})).sweep_id == plain.sweep_id   # the default
    assert parse_spec(small_spec(analysis={"tolerance": 0.5})).sweep_id != plain.sweep_id

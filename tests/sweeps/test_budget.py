"""The memory budget of a trial: estimated on the meta device before anything runs, refused over the bound."""

from __future__ import annotations

import pytest

import paramz
from sweeps.application import launch
from sweeps.spec import LimitsSpec, SpecError, parse_spec
from sweeps.spec.budget import MB, estimate
from sweeps.store import Store
from tests.sweeps.conftest import small_spec


def test_the_estimate_counts_the_parameters_of_the_largest_shape_exactly():
    spec = parse_spec(small_spec(widths=[32, 256], depths=[1, 3], task={"name": "teacher", "options": {"d_in": 20}}))
    model = paramz.models.build("mlp", width=256, depth=3, d_in=20, d_out=10)
    need = estimate(spec)
    assert (need.width, need.depth) == (256, 3) and need.params == sum(p.numel() for p in model.parameters())
    # AdamW (params, grads, two moments) and the probes' Krylov rows: max_iter 10 → two blocks of 8, basis and
    # products, a scratch row, a kept random start for each variant probed (this spec's one, raw)
    assert spec.sharpness.variants == ("raw",)
    assert need.state_bytes == 16 * need.params + 4 * need.params * (2 * 16 + 1 + 1)
    three = parse_spec(small_spec(widths=[32, 256], depths=[1, 3], task={"name": "teacher", "options": {"d_in": 20}},
                                  sharpness={"probes": 2, "variants": ["raw", "lr", "adam"], "max_iter": 10}))
    assert estimate(three).state_bytes - estimate(spec).state_bytes == 4 * need.params * 2
    outputs = sum(m.out_features for m in model.modules() if isinstance(m, paramz.models.base.nn.Linear))
    assert spec.sharpness.batch_size is None                         # the probe batch is the training batch...
    assert need.activation_bytes == 4 * 3 * spec.batch_size * outputs   # ...and × 3 (double backward) is larger
    assert need.data_bytes == 4 * (1024 * 30 + 64 * 30)             # held-out set and teacher, float32


def test_a_gpt_counts_tokens_and_attention_scores():
    spec = parse_spec(small_spec(model={"family": "gpt"}, task={"name": "icl-copy", "options": {"seq_len": 64}},
                                 widths=[64], base_width=64, depths=[2], sharpness={"probes": 0}))
    need = estimate(spec)
    scores = 4 * 32 * 64 * 64 * (64 // 16) * 2                    # batch × tokens² × heads × layers
    assert need.activation_bytes > scores and need.data_bytes == 16 * 256 * 64


def test_over_the_budget_is_refused_naming_the_bound_and_the_estimate(tmp_path):
    huge = small_spec(task={"name": "teacher", "options": {"d_in": 65536, "eval_size": 65536}})
    with pytest.raises(SpecError, match=r"a trial is estimated to need 17,\d{3} MB .* over limits.max_trial_mb 8192"):
        parse_spec(huge)
    spec = parse_spec(small_spec(widths=[32, 2048]))
    need = estimate(spec).total_bytes / MB
    assert need > 32
    tight = LimitsSpec(max_trial_mb=int(need / 2))
    with pytest.raises(SpecError, match="over limits.max_trial_mb"):
        launch(Store(f"sqlite:///{tmp_path}/b.db"), spec, limits=tight)     # the server's bound, not the spec's

"""A value fuzzer of our own: a valid spec with 1–3 of its fields replaced by extreme values of every
JSON type, POSTed to the service. Never a 5xx; a 422 names a field; whatever is accepted (202) really
is a sweep that can run: it validates again, its largest model builds (meta device), its task builds,
and its optimizer takes its settings. ``PARAMZ_FUZZ_EXAMPLES`` raises the budget (default 150)."""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paramz
from service.main import create_app
from sweeps.settings import Settings
from sweeps.spec import parse_spec
from sweeps.spec.budget import estimate
from sweeps.spec.tasks import make_task
from tests.service.conftest import AUTH, TOKEN
from tests.sweeps.conftest import small_spec

VALID: dict[str, Any] = small_spec(
    task={"name": "teacher", "options": {"d_in": 8, "d_out": 4, "eval_size": 64, "kind": "classification"}},
    model={"family": "mlp", "dims": {"bias": True, "activation": "relu"}},
    optimizer={"name": "adamw", "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.1, "warmup_steps": 2},
    seeds=[0, 1], analysis={"tolerance": 0.5}, limits={"max_trials": 100})
EXTREMES: list[Any] = [None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 0.5, -0.0, 1e-300, 1e300,
                       -1e300, "", "x", "abc", "1e-3", "x" * 300, "<script>alert(1)</script>", [], [0], [1, 2],
                       [True], [None], {}, {"a": 1}, {"d_in": -5}]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(VALID) + [("model", "dims", "hidden"), ("task", "options", "teacher_width"), ("search",),
                         ("search", "step"), ("sharpness", "variants"), ("base_depth",)]


def _set(spec: dict, path: tuple, value: Any) -> None:
    node = spec
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
        if not isinstance(node, (dict, list)):
            return
    last = path[-1]
    if isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = copy.deepcopy(value)


def _runs(body: dict) -> None:
    """What a 202 promises: the spec validates, its largest trial builds, its task and optimizer take it."""
    spec = parse_spec(body)
    need = estimate(spec)
    assert need.params > 0 and need.total_bytes <= spec.limits.max_trial_mb * 2**20
    task = make_task(spec.task.name, spec.task.options)
    model = paramz.models.build(spec.model.family, width=min(spec.widths), depth=min(spec.depths),
                                **spec.model.dims, **task.model_dims)
    with warnings.catch_warnings():   # a base wider than the model is allowed (it warns)
        warnings.simplefilter("ignore", paramz.ParamzWarning)
        paramz.parameterize(model, spec.parameterizations[0].resolve(), base_width=spec.base_width,
                            base_depth=spec.resolved_base_depth())
    o = spec.optimizer
    opt = paramz.make_optimizer(model, o.name, lr=spec.lr.lrs()[0], weight_decay=o.weight_decay, eps=o.eps,
                                betas=o.betas, momentum=o.momentum)
    x, y = task.train_batch(0, 4, spec.seeds[0])
    loss = task.loss(model(x), y)
    loss.backward()
    opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters()), repr(body)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    settings_ = Settings(store=f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/f.db", executor="local", run_sweeps=False,
                         token=TOKEN, max_active_sweeps=10**6, _env_file=None)
    with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
        yield client


@settings(max_examples=int(os.environ.get("PARAMZ_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(EXTREMES)), min_size=1, max_size=3))
def test_extreme_values_get_a_named_422_or_a_sweep_that_runs(fuzz_client, changes):
    client = fuzz_client
    body = copy.deepcopy(VALID)
    for path, value in changes:
        _set(body, path, value)
    response = client.post("/api/v1/sweeps", json=body, headers=AUTH)
    assert response.status_code in (202, 413, 422), (changes, response.status_code, response.text[:500])
    if response.status_code == 422:
        detail = response.json()["detail"]
        assert detail and "Traceback" not in response.text and ":" in detail, (changes, detail)
    elif response.status_code == 202:
        _runs(body)

"""Schemathesis, property-based from /openapi.json: no 5xx, and every response conforms to the schema.

Checks: not_a_server_error, status_code_conformance (only documented codes), content_type_conformance
and response_schema_conformance. Path ids are fuzzed as generated and, for every case, also set to a
real finished sweep so the analysis routes are exercised on data, not only on 404s.
"""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.main import create_app
from sweeps.settings import Settings
from sweeps.spec import parse_spec
from sweeps.store import Store
from tests.service.conftest import AUTH, TOKEN
from tests.sweeps.conftest import Synthetic, run_spec, small_spec

STORE = f"sqlite:///{tempfile.mkdtemp(prefix='paramz-fuzz-')}/fuzz.db"
SEEDED = run_spec(parse_spec(small_spec(parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=64,
                                         widths=[64, 128, 256], lr={"log2_min": -14, "log2_max": -4})),
                   Store(STORE), Synthetic())
APP = create_app(Settings(store=STORE, executor="local", run_sweeps=False, token=TOKEN, max_trials=8, max_steps=20,
                          max_width=64, max_depth=4, max_active_sweeps=2, _env_file=None))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.exclude(path="/api/v1/coord-check").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)
    if "sweep_id" in (case.path_parameters or {}):
        case.path_parameters["sweep_id"] = SEEDED
        case.call_and_validate(headers=AUTH, checks=CHECKS)

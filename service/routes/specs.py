"""Spec helpers for the launch page: the example specs, and validation without launching anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from service.deps import SettingsDep
from service.errors import problems
from service.schemas import SpecCheck, SpecExample, SpecExamples
from sweeps.spec import LimitsSpec, SweepSpec, error_lines

router = APIRouter(prefix="/specs", tags=["specs"])
EXAMPLES = Path(__file__).resolve().parents[2] / "sweeps" / "examples"


@router.get("/examples", response_model=SpecExamples, summary="The example specs shipped with paramz")
def examples() -> SpecExamples:
    data = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        comment = " ".join(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#"))
        data.append(SpecExample(name=path.stem, description=comment, text=text, spec=yaml.safe_load(text)))
    return SpecExamples(data=data)


TEXT_BODY = {"requestBody": {"required": True, "content": {
    "text/plain": {"schema": {"type": "string"}, "example": "name: my-sweep\nmodel: {family: mlp}\n..."},
    "application/yaml": {"schema": {"type": "object"}},       # a YAML document: one mapping
    "application/json": {"schema": {"type": "object"}}}}}


@router.post("/validate", response_model=SpecCheck, responses=problems(413, 422), openapi_extra=TEXT_BODY,
             summary="Validate a spec (YAML or JSON text) as POST /sweeps would, without launching it")
async def validate(request: Request, settings: SettingsDep) -> SpecCheck:
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(422, "spec: the request body is empty; send the spec's YAML or JSON text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, "spec: the body is not UTF-8 text; send the YAML or JSON as UTF-8") from None
    return await run_in_threadpool(check, text, settings.limits())


def check(text: str, limits: LimitsSpec) -> SpecCheck:
    """What POST /sweeps would say of ``text`` (YAML or JSON), within the server's ``limits``.

    A mapping that is not a valid spec is a 200 with ``valid: false`` and one line per field; text that
    is no spec at all (not YAML/JSON, not a mapping) is a 422 problem, as the schema documents.
    """
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise HTTPException(422, f"spec: not valid YAML or JSON{where}: "
                                 f"{getattr(exc, 'problem', None) or str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):   # not a spec at all (and, as JSON, not the documented object): a 422
        raise HTTPException(422, f"spec: must be a mapping of fields (name, model, task, ...), got "
                                 f"{type(data).__name__}")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        return SpecCheck(valid=False, errors=error_lines(exc.errors()))
    over = spec.over_limits(limits)
    if over:
        return SpecCheck(valid=False, errors=over)
    return SpecCheck(valid=True, errors=[], spec=spec.model_dump(mode="json"), sweep_id=spec.sweep_id,
                     n_trials=spec.n_trials)

"""Sweep specs: YAML/JSON → validated, frozen objects; every error names the field and the fix.

A spec names a model family and its fixed dims, a task, one or more parameterizations, a base
shape, the widths × depths × LRs × seeds grid, the optimizer, the training length, the sharpness
probe settings and its limits. `load_spec` reads a file, `parse_spec` a dict (the REST body),
`stored_spec` a spec the store kept (validated when it was created, so registry checks are skipped:
a sweep stays readable after a plugin is uninstalled).

Ids are content hashes: the sweep id hashes `SweepSpec.canonical_json`, a trial id its config
(`sweeps.spec.trial`). A field added to a spec model after sweeps were stored is listed in the
model's ``ADDED_LATER`` and left out of the hash while it holds its default, so old ids stay valid.
"""

from __future__ import annotations

import hashlib
import json
import math
import typing
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import to_jsonable_python

import paramz
from paramz.errors import ConfigError
from paramz.models import MODELS
from paramz.models.base import ACTIVATIONS
from sweeps.spec.bounds import MAX_SIZE, MAX_STEPS, Float, Int, Seed, Size, Steps
from sweeps.spec.errors import SpecError, error_lines
from sweeps.spec.tasks import TASKS as TASK_TYPES

TRUSTED = {"trusted": True}
"""Validation context for what the store kept: it passed every check when it was created."""


def _trusted(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("trusted"))


class Frozen(BaseModel):
    """Base of the spec models: immutable, unknown fields refused, no inf/NaN."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    ADDED_LATER: ClassVar[tuple[str, ...]] = ()


def stable_dump(model: BaseModel) -> dict[str, Any]:
    """``model_dump(mode="json")`` without the fields added later (``ADDED_LATER``) that hold their default.

    Hashing this keeps the ids of sweeps and trials stored before a field existed.
    """
    later = getattr(model, "ADDED_LATER", ())
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if name in later and value == info.get_default(call_default_factory=True):
            continue
        out[name] = _stable(value)
    return out


def _stable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return stable_dump(value)
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    return to_jsonable_python(value)


def _registered(kind: str, value: str, registry: dict[str, Any]) -> str:
    """``value`` if it names an entry of ``registry`` (the zoo, the tasks, plugins included)."""
    if value not in registry:
        raise ValueError(f"unknown {kind} {value!r}; choose one of {', '.join(registry)}")
    return value


_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


@cache
def dims_model(family: str) -> type[BaseModel]:
    """A pydantic model of a family's fixed dims, made from its config dataclass: sizes are integers in
    [1, MAX_SIZE], flags are booleans, ``activation`` one of `paramz.models.base.ACTIVATIONS`."""
    config = MODELS[family][1]
    hints = typing.get_type_hints(config)
    spec: dict[str, Any] = {}
    for f in fields(config):
        if f.name in ("width", "depth"):
            continue
        kind = hints.get(f.name)
        if f.name == "activation":
            spec[f.name] = (Literal[tuple(ACTIVATIONS)], f.default)
        elif kind is int:
            spec[f.name] = (Size, f.default)
        elif kind is bool:
            spec[f.name] = (StrictBool, f.default)
        elif kind is float:
            spec[f.name] = (Annotated[Float, Field(ge=-1e6, le=1e6)], f.default)
        else:
            spec[f.name] = (Annotated[StrictStr, Field(max_length=200)], f.default)
    return create_model(f"{family}_dims", __config__=_STRICT, **spec)


def _check(model: type[BaseModel], value: dict[str, Any]) -> None:
    """Validates ``value`` against ``model``; its errors as one ValueError, a line per field."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        raise ValueError("; ".join(error_lines(exc.errors()))) from None


class ModelSpec(Frozen):
    family: str = Field(description="zoo model: mlp, resmlp or gpt")
    dims: dict[str, Any] = Field(default_factory=dict, description="fixed config fields (d_head, ff_mult, ...)")

    @field_validator("family")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        return v if _trusted(info) else _registered("model", v, MODELS)

    @model_validator(mode="after")
    def _dims(self, info: ValidationInfo) -> ModelSpec:
        if _trusted(info):
            return self
        known = {f.name for f in fields(MODELS[self.family][1])} - {"width", "depth"}
        task_set = {d for t in TASK_TYPES.values() for d in t.DIMS}  # set by the task
        for key in self.dims:
            if key not in known or key in task_set:
                raise ValueError(f"dims: {key!r} is not settable here; settable: {', '.join(sorted(known - task_set))}")
        return self

    @field_validator("dims")
    @classmethod
    def _typed_dims(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        family = info.data.get("family")
        if _trusted(info) or family not in MODELS:
            return v
        known = {f.name for f in fields(MODELS[family][1])} - {"width", "depth"}
        _check(dims_model(family), {k: x for k, x in v.items() if k in known})  # unknown ones: _dims says
        return v


class TaskSpec(Frozen):
    name: str = Field(description="teacher, icl-copy or bytes")
    options: dict[str, Any] = Field(default_factory=dict, description="task options (see sweeps/spec/tasks.py)")

    @field_validator("name")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        return v if _trusted(info) else _registered("task", v, TASK_TYPES)

    @field_validator("options")
    @classmethod
    def _options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")
        options = TASK_TYPES[name].OPTIONS if name in TASK_TYPES else None
        if _trusted(info) or options is None:
            return v
        _check(options, v)
        return v


class ParamSpec(Frozen):
    name: str
    alpha: Float | None = None
    sp_init: Literal["fan_in", "const"] | None = None
    zero_init_readout: bool | None = None
    zero_init_query: bool | None = None

    @model_validator(mode="after")
    def _valid(self) -> ParamSpec:
        try:
            self.resolve()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def resolve(self) -> paramz.Parameterization:
        options = self.model_dump(exclude={"name"}, exclude_none=True)
        return paramz.get(self.name, **options)

    @property
    def label(self) -> str:
        """Unique per setting: ``mup``, ``completep(alpha=0.75)``, ``mup(zero_init_readout)``."""
        options = []
        for key, value in self.model_dump(exclude={"name"}, exclude_none=True).items():
            if value is True:
                options.append(key)
            elif value is not False:
                options.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
        return f"{self.name}({', '.join(options)})" if options else self.name


class LRGrid(Frozen):
    log2_min: Float | None = Field(None, ge=-60, le=20, description="smallest log2 LR, e.g. -12")
    log2_max: Float | None = Field(None, ge=-60, le=20, description="largest log2 LR, e.g. -4")
    log2_step: Float = Field(1.0, ge=1 / 64, le=80, description="grid step in log2 units")
    values: list[Annotated[Float, Field(gt=0, le=1e6)]] | None = Field(None, max_length=1000,
                                                                       description="explicit LRs instead of a range")

    @model_validator(mode="after")
    def _one_form(self) -> LRGrid:
        if self.values is not None:
            if self.log2_min is not None or self.log2_max is not None:
                raise ValueError("give either values or log2_min/log2_max, not both")
            if not self.values:
                raise ValueError("values must be a non-empty list of positive LRs")
        elif self.log2_min is None or self.log2_max is None:
            raise ValueError("give log2_min and log2_max (e.g. -12 and -4), or values")
        elif self.log2_max < self.log2_min:
            raise ValueError(f"log2_max {self.log2_max} is below log2_min {self.log2_min}")
        elif self.count() > 1000:
            raise ValueError(f"{self.count()} LRs from log2_min to log2_max at log2_step {self.log2_step}; "
                             "at most 1000: raise log2_step")
        return self

    def count(self) -> int:
        """How many LRs the grid has (without building them)."""
        if self.values is not None:
            return len(set(self.values))
        assert self.log2_min is not None and self.log2_max is not None  # _one_form
        return int(math.floor((self.log2_max - self.log2_min) / self.log2_step + 1e-9)) + 1

    def log2_range(self) -> tuple[float, float]:
        """(smallest, largest) log2 LR: the bounds an adaptive search stays within."""
        lrs = self.lrs()
        return math.log2(lrs[0]), math.log2(lrs[-1])

    def lrs(self) -> list[float]:
        if self.values is not None:
            return sorted(set(self.values))
        assert self.log2_min is not None  # _one_form
        return [2.0 ** (self.log2_min + i * self.log2_step) for i in range(self.count())]


class OptimizerSpec(Frozen):
    name: Literal["adamw", "sgd"] = "adamw"
    betas: tuple[Annotated[Float, Field(ge=0, lt=1)], Annotated[Float, Field(ge=0, lt=1)]] = (0.9, 0.999)
    eps: Float = Field(1e-8, ge=1e-30, le=1,
                       description="Adam ε at the base shape (≥ 1e-30: smaller vanishes in float32)")
    weight_decay: Float = Field(0.0, ge=0, le=10)
    momentum: Float = Field(0.0, ge=0, lt=1)
    grad_clip: Float | None = Field(None, gt=0, le=1e6, description="global grad-norm clip")
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    warmup_steps: Int = Field(0, ge=0, le=10**9)


class SharpnessSpec(Frozen):
    """Hessian probes of every trial (see paramz.sharpness): when, which operators, how accurately.

    ``tol`` is Lanczos's stopping rule, ``‖Hv − λv‖ ≤ tol·λ``. A residual r puts an eigenvalue within r
    of the estimate, and within r²/gap when the spectrum has a gap, so the default 1e-2 gives λ_max to
    ~1e-4 relative on our models (measured against tol 1e-6: ≤ 2e-4), at 25% fewer products than 1e-3.

    With ``probes`` unset, a trial gets as many log-spaced probes as fit in ``budget`` of its time (at
    least one, at its end; at most `MAX_DEFAULT_PROBES`), by an estimate in training steps: a solve costs
    `SOLVE_STEPS` steps (the slowest case measured by ``bench/probe_share.py``: width 1024, batch 32, probes
    far apart) times the probe batch over the training batch, one solve per operator the probe names.
    The count depends on the sweep's steps, batches, variants and optimizer only, not on a trial's
    width, depth or parameterization, so every trial of a sweep probes the same steps and sharpness
    series compare step by step across scales. (Where ``lr`` is ``raw``, SP or μP at its base shape,
    the probe makes one solve fewer and stays further inside the budget.)
    """

    SOLVE_STEPS: ClassVar[float] = 30.0
    MAX_DEFAULT_PROBES: ClassVar[int] = 8
    ADDED_LATER = ("budget",)

    probes: Int | None = Field(None, ge=0, le=1000, description=(
        "probes per trial, log-spaced over the steps (0: off; unset: as many as `budget` affords, 1 to 8)"))
    budget: Float = Field(0.15, gt=0, lt=1, description=(
        "with `probes` unset: the share of a trial's time its probes may take; set `probes` to choose the count"))
    variants: tuple[Literal["raw", "lr", "adam"], ...] = ("raw", "lr")
    batch_size: Int | None = Field(None, gt=0, le=65536,
                                   description="size of the fixed probe batch (default: the training batch size)")
    tol: Float = Field(1e-2, gt=0, le=1, description="relative residual at which a Lanczos solve stops")
    max_iter: Int = Field(30, gt=0, le=1000, description="Hessian-vector products per solve at most")

    @model_validator(mode="after")
    def _count_or_budget(self) -> SharpnessSpec:
        # a budget at its default beside a count is what any dump of a spec holds (round trips must pass)
        if self.probes is not None and self.budget != type(self).model_fields["budget"].default:
            raise ValueError(f"give probes (a fixed count) or budget (a share of the trial), not both: probes "
                             f"{self.probes} leaves budget {self.budget} unused; remove one")
        return self

    def probe_batch_size(self, training_batch: int) -> int:
        """The probe batch's size: ``batch_size``, or the training batch's."""
        return self.batch_size or training_batch

    @property
    def enabled(self) -> bool:
        """Whether trials probe at all (``probes: 0`` turns them off)."""
        return self.probes != 0

    def count(self, steps: int, training_batch: int, optimizer: str) -> int:
        """Probes of each trial of ``steps`` steps at batch ``training_batch`` under ``optimizer`` (a name).

        ``probes`` when set; otherwise the most that the estimate fits in ``budget`` (see the class
        docstring): probe cost ≤ budget/(1 − budget) × the training steps. ``adam`` is no operator
        without AdamW (a trial skips it).
        """
        if self.probes is not None:
            return self.probes
        operators = sum(1 for v in self.variants if v != "adam" or optimizer == "adamw")
        if operators == 0:
            return 0
        per_probe = operators * self.SOLVE_STEPS * self.probe_batch_size(training_batch) / training_batch
        affordable = int(self.budget / (1 - self.budget) * steps / per_probe)
        return max(1, min(self.MAX_DEFAULT_PROBES, affordable))


class LimitsSpec(Frozen):
    max_trials: Int = Field(2000, gt=0, le=10**7, description="refuse a sweep with more trials")
    max_steps: Int = Field(100_000, gt=0, le=MAX_STEPS)
    max_width: Int = Field(8192, gt=0, le=MAX_SIZE)
    max_depth: Int = Field(256, gt=0, le=MAX_SIZE)
    max_trial_mb: Int = Field(8192, gt=0, le=2**30, description=(
        "refuse a sweep whose largest trial is estimated to need more memory (MB; see sweeps/spec/budget.py)"))

    ADDED_LATER = ("max_trial_mb",)


class SearchSpec(Frozen):
    """Adaptive LR search instead of the full grid (see sweeps/search/adaptive.py).

    The LR grid's range bounds the search; points lie on a lattice of ``step`` octaves in it.
    """

    method: Literal["adaptive"] = "adaptive"
    tolerance: Float = Field(0.5, gt=0, le=10, description="stop a scale when its optimum's 95% interval is at most "
                                                     "this wide (octaves) and bracketed at `step`")
    step: Float = Field(0.5, ge=1 / 64, le=16, description="finest LR resolution, octaves")
    coarse_step: Float = Field(2.0, gt=0, le=32,
                               description="first scale's opening grid step; widening step at an edge")
    band: Float = Field(1.0, gt=0, le=32, description="later scales open at the predicted optimum ± band octaves")
    max_points: Int = Field(16, ge=3, le=1000, description="LR points per scale at most (each run for every seed)")
    seed: Seed = Field(0, description="seed of the Optuna sampler")

    @model_validator(mode="after")
    def _steps(self) -> SearchSpec:
        if self.coarse_step < self.step:
            raise ValueError(f"coarse_step {self.coarse_step} is below step {self.step}; make it a multiple of step")
        return self


class AnalysisSpec(Frozen):
    """How the sweep's transfer analysis judges it (a CLI flag or a REST query parameter overrides it)."""

    tolerance: Float = Field(1 / 3, gt=0, le=10, description=(
        "octaves of η* drift per doubling of width or depth still called 'transfers' (the whole 95% "
        "interval must lie inside ±tolerance); the default, 1/3, is one octave over 8×"))


class SweepSpec(Frozen):
    name: str = Field("sweep", max_length=200)
    model: ModelSpec
    task: TaskSpec
    parameterizations: list[ParamSpec] = Field(min_length=1)
    base_width: Size
    base_depth: Size | None = Field(None, description="default: the smallest depth")
    widths: list[Size] = Field(min_length=1, max_length=64)
    depths: list[Size] = Field(default_factory=lambda: [2], min_length=1, max_length=64)
    lr: LRGrid
    optimizer: OptimizerSpec = OptimizerSpec()
    steps: Steps
    batch_size: Int = Field(32, gt=0, le=65536)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1, max_length=1000)
    eval_every: Int = Field(50, gt=0, le=MAX_STEPS, description="held-out loss every this many steps (and at the end)")
    log_every: Int = Field(10, gt=0, le=MAX_STEPS, description="train loss every this many steps")
    divergence_factor: Float = Field(10.0, gt=1, le=1e6, description="diverged when loss > factor × initial loss")
    sharpness: SharpnessSpec = SharpnessSpec()
    limits: LimitsSpec = LimitsSpec()
    search: SearchSpec | None = Field(None, description="adaptive LR search; default: the full grid")
    analysis: AnalysisSpec = AnalysisSpec()

    @field_validator("widths", "depths")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        return sorted(set(v))

    ADDED_LATER = ("search", "analysis")

    @model_validator(mode="after")
    def _bounds(self, info: ValidationInfo) -> SweepSpec:
        if _trusted(info):
            return self
        labels = [p.label for p in self.parameterizations]
        if len(set(labels)) != len(labels):
            raise ValueError(f"parameterizations: {labels} has duplicates; give each setting once")
        needs = set(TASK_TYPES[self.task.name].DIMS)
        if not needs <= {f.name for f in fields(MODELS[self.model.family][1])}:
            fits = [t for t, cls in TASK_TYPES.items()
                    if set(cls.DIMS) <= {f.name for f in fields(MODELS[self.model.family][1])}]
            raise ValueError(f"task: {self.task.name!r} does not fit model {self.model.family!r} (it sets "
                             f"{sorted(needs)}); tasks that fit: {', '.join(fits)}")
        unknown = set(self.task.options) - TASK_TYPES[self.task.name].KEYS
        if unknown:
            raise ValueError(f"task.options: unknown {sorted(unknown)}; known: "
                             f"{', '.join(sorted(TASK_TYPES[self.task.name].KEYS))}")
        if self.model.family == "gpt":
            d_head = self.model.dims.get("d_head", 16)
            bad = [w for w in [*self.widths, self.base_width] if w % d_head]
            if bad:
                raise ValueError(f"widths: {bad} are not multiples of d_head={d_head}; heads scale with width")
        if not MODELS[self.model.family][0].has_residual_blocks() and any(
                p.resolve().has_depth_rules for p in self.parameterizations):
            raise ValueError(f"parameterizations: depth rules need residual blocks, and {self.model.family!r} has "
                             "none; use model resmlp or gpt")
        over = self.over_limits(self.limits)
        if over:
            raise ValueError("; ".join(over))
        return self

    def over_limits(self, limits: LimitsSpec) -> list[str]:
        """What in this spec exceeds ``limits`` (its own, or a server's), one line per bound; empty: nothing."""
        lines = []
        if self.steps > limits.max_steps:
            lines.append(f"steps: {self.steps} exceeds limits.max_steps {limits.max_steps}")
        if max(self.widths) > limits.max_width:
            lines.append(f"widths: {max(self.widths)} exceeds limits.max_width {limits.max_width}")
        if self.base_width > limits.max_width:
            lines.append(f"base_width: {self.base_width} exceeds limits.max_width {limits.max_width}")
        if max(self.depths) > limits.max_depth:
            lines.append(f"depths: {max(self.depths)} exceeds limits.max_depth {limits.max_depth}")
        if self.base_depth is not None and self.base_depth > limits.max_depth:
            lines.append(f"base_depth: {self.base_depth} exceeds limits.max_depth {limits.max_depth}")
        if self.n_trials > limits.max_trials:
            what = "the adaptive search may run" if self.search else "the grid has"
            lines.append(f"spec: {what} {self.n_trials} trials, over limits.max_trials {limits.max_trials}; "
                         "shrink the grid or raise the limit")
        if not lines:
            from sweeps.spec.budget import MB, estimate  # builds on the meta device: only for a spec in bounds
            try:
                need = estimate(self)
            except Exception as exc:  # noqa: BLE001 - a model a plugin cannot build would fail in every trial
                lines.append(f"model: {self.model.family!r} could not be built at width {max(self.widths)}, depth "
                             f"{max(self.depths)} to estimate its memory: {type(exc).__name__}: {exc}")
                return lines
            if need.total_bytes > limits.max_trial_mb * MB:
                lines.append(f"spec: a trial is estimated to need {need.describe()}, over limits.max_trial_mb "
                             f"{limits.max_trial_mb}; shrink the largest width, depth, batch or task sizes")
        return lines

    @property
    def n_trials(self) -> int:
        """Trials of the grid, or the most an adaptive search may run."""
        points = self.search.max_points if self.search else self.lr.count()
        return len(self.parameterizations) * len(self.widths) * len(self.depths) * points * len(self.seeds)

    def resolved_base_depth(self) -> int:
        return self.base_depth if self.base_depth is not None else min(self.depths)

    def canonical_json(self) -> str:
        """The spec as canonical JSON (sorted keys, later-added fields at default left out): what the id hashes."""
        return json.dumps(stable_dump(self), sort_keys=True, separators=(",", ":"))

    @property
    def sweep_id(self) -> str:
        """The sweep id: a hash of `canonical_json`, so the same spec always names the same sweep."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]


def parse_spec(data: Any) -> SweepSpec:
    """Validates a spec given as a dict (a parsed YAML/JSON file, or a REST body).

    Raises:
        SpecError: naming every bad field (``widths: ...; lr: ...``).
    """
    if not isinstance(data, dict):
        raise SpecError(f"spec: must be a mapping, got {type(data).__name__}")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError("; ".join(error_lines(exc.errors()))) from None


def stored_spec(text: str) -> SweepSpec:
    """A spec the store kept (JSON), without the registry checks it passed when it was created."""
    return SweepSpec.model_validate_json(text, context=TRUSTED)


def load_spec(path: str | Path) -> SweepSpec:
    """Reads a YAML or JSON spec file and validates it.

    Raises:
        SpecError: missing or unreadable file, or an invalid spec.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"SPEC: no file {str(path)!r}; pass a YAML or JSON spec (see sweeps/examples/)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"SPEC: {path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    return parse_spec(data)

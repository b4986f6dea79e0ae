"""Response schemas of the REST API (the request body of a new sweep is `sweeps.spec.SweepSpec` itself).

Families in the FastAPI full-stack template's naming: ``SweepPublic`` / ``SweepsPublic`` and so on.
JSON has no infinity: a diverged point's loss is ``null`` with ``diverged: true``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sweeps.domain import SweepState, TrialState


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[str] | None = Field(None, description="one line per bad field, naming it and the fix")


class SweepPublic(BaseModel):
    id: str
    name: str
    status: SweepState
    n_trials: int = Field(description="trials created so far (the grid; an adaptive search grows)")
    counts: dict[str, int] = Field(description="trials by status")
    progress: float = Field(ge=0, le=1, description="finished trials / n_trials")
    adaptive: bool
    runner: str | None = Field(None, description="who holds the sweep's lease (host:pid:token) while it runs")
    family: str = Field(description="model family")
    task: str
    parameterizations: list[str] = Field(description="labels of its parameterizations")
    best_loss: float | None = Field(None, description="lowest final held-out loss of its completed trials")
    created_at: str
    updated_at: str


class SweepsPublic(BaseModel):
    data: list[SweepPublic]
    count: int = Field(description="sweeps in total")
    offset: int
    limit: int


class SweepCreated(BaseModel):
    id: str
    status: SweepState
    n_trials: int
    created: bool = Field(description="a new sweep (false: the same spec was launched before)")
    reopened: bool = Field(description="it was cancelled or failed, and its unfinished trials run again")
    location: str


class TrialScale(BaseModel):
    """Where a trial sits in the grid."""
    parameterization: str
    width: int
    depth: int
    lr: float
    seed: int
    status: TrialState


class TrialPublic(TrialScale):
    id: str
    attempts: int
    error: str | None
    worker: str | None
    diverged_step: int | None
    steps_done: int | None
    final_train_loss: float | None
    final_eval_loss: float | None
    seconds: float | None
    started_at: str | None
    finished_at: str | None


class TrialsPublic(BaseModel):
    data: list[TrialPublic]
    count: int
    offset: int
    limit: int


class CurvePoint(BaseModel):
    lr: float
    log2_lr: float
    loss: float | None = Field(description="seed-mean final held-out loss; null when diverged")
    diverged: bool
    n_seeds: int


class Curve(BaseModel):
    parameterization: str
    width: int
    depth: int
    points: list[CurvePoint]


class OptimumPublic(BaseModel):
    parameterization: str
    width: int
    depth: int
    log2_lr: float
    low: float
    high: float
    loss: float
    grid_log2_lr: float
    n_seeds: int
    flags: list[str]


class FitPublic(BaseModel):
    parameterization: str
    base_width: int
    base_depth: int
    c: float = Field(description="log2 η* at the base shape")
    a: float = Field(description="octaves of η* per doubling of width")
    b: float = Field(description="octaves of η* per doubling of depth")
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    cov: list[list[float]]
    widths: tuple[int, int]
    depths: tuple[int, int]
    used: list[tuple[int, int]]
    left_out: list[tuple[int, int, str]]


class TransferPublic(BaseModel):
    id: str
    status: SweepState
    tolerance: float
    curves: list[Curve]
    optima: list[OptimumPublic]
    fits: dict[str, FitPublic]
    verdicts: dict[str, dict[str, str]]


class Prediction(BaseModel):
    lr: float
    log2_lr: float
    lr_low: float = Field(description="95% interval of η*, lower end (an LR, not log2)")
    lr_high: float = Field(description="95% interval of η*, upper end (an LR, not log2)")
    warnings: list[str]
    fit: FitPublic
    optima: list[OptimumPublic] = Field(description="the per-scale optima the fit used (provenance)")


class OptimalLRPublic(BaseModel):
    id: str
    width: int
    depth: int
    predictions: dict[str, Prediction]


class SharpnessSeries(TrialScale):
    trial_id: str
    live: bool = Field(False, description="a running trial: the probes so far")
    steps: list[int]
    sharpness: dict[str, list[float | None]] = Field(description="λ_max per variant (raw, lr, adam) per step")
    eos: dict[str, list[float | None]] = Field(description="η·λ over the stability threshold per variant")


class Series(BaseModel):
    steps: list[int]
    values: list[float | None] = Field(description="null: not finite (a diverged step)")


class TrialMetricsPublic(BaseModel):
    id: str
    trial_id: str
    status: TrialState
    live: bool = Field(description="true while the trial runs: the metrics it has streamed so far")
    series: dict[str, Series] = Field(description="per metric name: train_loss, eval_loss, sharpness/raw, eos/lr, ...")


class SharpnessPublic(BaseModel):
    id: str
    series: list[SharpnessSeries]


class RoleRule(BaseModel):
    width: float
    depth: float


class ParameterizationPublic(BaseModel):
    name: str
    description: str
    alpha: float | None
    sp_init: str | None
    zero_init_readout: bool
    zero_init_query: bool
    roles: dict[str, dict[str, RoleRule]]
    residual_branch: RoleRule
    attention_logits: str


class ParameterizationsPublic(BaseModel):
    data: list[ParameterizationPublic]
    quantities: list[str]
    roles: list[str]


class CoordCheckPublic(BaseModel):
    model: str
    parameterization: str
    axis: Literal["width", "depth"]
    passed: bool
    result: dict[str, object]


class Health(BaseModel):
    status: Literal["ok"]
    store: str
    runner: Literal["running", "off"]
    current_sweep: str | None

"""Response schemas of the REST API (the request body of a new sweep is `sweeps.spec.SweepSpec` itself).

Families in the FastAPI full-stack template's naming: ``SweepPublic`` / ``SweepsPublic`` and so on.
JSON has no infinity: a diverged point's loss is ``null`` with ``diverged: true``.
"""

from __future__ import annotations

from typing import Any, Literal

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


class SpecExample(BaseModel):
    name: str
    description: str
    text: str = Field(description="the YAML file as shipped, comments included")
    spec: dict[str, Any]


class SpecExamples(BaseModel):
    data: list[SpecExample]


class SpecCheck(BaseModel):
    """What POST /sweeps would say of a spec, without launching it."""

    valid: bool
    errors: list[str] = Field(description="one line per problem, each naming the field and the fix")
    spec: dict[str, Any] | None = Field(None, description="the validated spec as JSON (what to POST)")
    sweep_id: str | None = Field(None, description="the id the sweep would get (the same spec resumes it)")
    n_trials: int | None = None


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


LOG2 = "log2 of a learning rate"


class OptimumPublic(BaseModel):
    """The optimal LR of one scale. Every ``log2_*`` field is a log2 LR; ``null`` ends are unbounded
    (an optimum at the edge of the LR grid gets a half-open interval)."""

    parameterization: str
    width: int
    depth: int
    log2_lr: float = Field(description=f"sub-grid estimate of η*, {LOG2}")
    log2_low: float | None = Field(description=f"95% interval of η*, lower end, {LOG2}; null: unbounded")
    log2_high: float | None = Field(description=f"95% interval of η*, upper end, {LOG2}; null: unbounded")
    sd: float | None = Field(description="standard error of log2_lr, octaves; null for an edge optimum")
    dof: float | None = Field(description="degrees of freedom of the t quantile; null: normal quantile")
    method: Literal["seeds", "pooled", "assumed", "edge"] = Field(description=(
        "how the interval was made: seeds (Student-t over this scale's seeds, with the other scales' scatter "
        "lent), pooled (one seed here: the other scales' seed scatter), assumed (one seed in the whole sweep: "
        "½ octave of seed scatter assumed), edge (half-open)"))
    loss: float
    grid_log2_lr: float = Field(description=f"the grid argmin, {LOG2}")
    n_seeds: int
    flags: list[str]
    low: float | None = Field(description="deprecated: the same as log2_low", deprecated=True)
    high: float | None = Field(description="deprecated: the same as log2_high", deprecated=True)


class ShiftPublic(BaseModel):
    """A slope over the largest scales of one axis that disagrees with the global one (pre-asymptotic)."""

    axis: str
    slope: float = Field(description="octaves of η* per doubling over the largest scales")
    low: float = Field(description="its 95% interval, octaves per doubling")
    high: float
    global_slope: float
    z: float = Field(description="Hausman statistic of the difference")
    values: list[int] = Field(description="the largest values of the axis it rests on")


class FitPublic(BaseModel):
    parameterization: str
    base_width: int
    base_depth: int
    c: float = Field(description=f"η* at the base shape, {LOG2}")
    a: float = Field(description="octaves of η* per doubling of width")
    b: float = Field(description="octaves of η* per doubling of depth")
    a_interval: tuple[float, float] = Field(description="95% interval of a, octaves per doubling")
    b_interval: tuple[float, float] = Field(description="95% interval of b, octaves per doubling")
    cov: list[list[float]]
    quantile: float = Field(description="of the 95% intervals: z, or Student-t when scatter widened them")
    dof: int = Field(description="residual degrees of freedom")
    chi2: float | None = Field(description="χ²/dof of the residuals against the optima's own sd")
    widths: tuple[int, int]
    depths: tuple[int, int]
    used: list[tuple[int, int]] = Field(description="(width, depth) of the optima the law rests on")
    left_out: list[tuple[int, int, str]] = Field(description="(width, depth, why): edge of the grid or outlier")
    influential: list[tuple[int, int, str]] = Field(description="(width, depth, note): points the slope leans on")
    shifts: list[ShiftPublic] = Field(description="pre-asymptotic: axes whose largest scales drift differently")
    local: FitPublic | None = Field(description="the law over the largest scales, when a shift was found")


class VerdictPublic(BaseModel):
    axis: str
    outcome: Literal["transfers", "drifts", "inconclusive"] = Field(description=(
        "transfers: the whole 95% interval of the drift lies inside ±tolerance; drifts: wholly outside; "
        "inconclusive: otherwise, or no law"))
    slope: float | None = Field(description="octaves of η* per doubling; null without a law")
    low: float | None = Field(description="95% interval of the slope, octaves per doubling")
    high: float | None
    tolerance: float = Field(description="octaves per doubling still called 'transfers'")
    text: str
    settle: list[str] = Field(description="what would settle an inconclusive verdict")


class ConsistencyPublic(BaseModel):
    """Super consistency: the spread of λ_max across scales at matched steps."""

    parameterization: str
    operator: str = Field(description="raw | lr | adam")
    mode: Literal["best-lr", "fixed-lr"] = Field(description="each scale at its best LR, or one LR common to all")
    lr: float | None = Field(description="the common LR (fixed-lr), a plain LR")
    scales: list[tuple[int, int]]
    steps: list[int]
    cv: list[float | None] = Field(description="coefficient of variation of λ_max across scales, per step")
    cv_final: float | None = Field(description="at the last common step")
    reason: str = Field(description="why there is no statistic (cv empty)")


class TransferPublic(BaseModel):
    id: str
    status: SweepState
    tolerance: float = Field(description="octaves of η* drift per doubling still called 'transfers'")
    curves: list[Curve]
    optima: list[OptimumPublic]
    fits: dict[str, FitPublic]
    no_law: dict[str, str] = Field(description="per parameterization without a law: why")
    verdicts: dict[str, dict[str, str]] = Field(description="per parameterization, per swept axis: the verdict's text")
    verdict_details: dict[str, dict[str, VerdictPublic]]
    consistency: list[ConsistencyPublic]


class Prediction(BaseModel):
    lr: float
    log2_lr: float
    lr_low: float = Field(description="95% interval of η*, lower end (an LR, not log2)")
    lr_high: float = Field(description="95% interval of η*, upper end (an LR, not log2)")
    rests_on: list[tuple[int, int]] = Field(description="(width, depth) of the optima the law used")
    warnings: list[str]
    fit: FitPublic
    optima: list[OptimumPublic] = Field(description="the per-scale optima the prediction rests on (provenance)")


class OptimalLRPublic(BaseModel):
    id: str
    width: int
    depth: int
    predictions: dict[str, Prediction]
    no_prediction: dict[str, str] = Field(description="per parameterization without a prediction: why")


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

"""The studies `make validate` runs: each a sweep spec, the claim it tests and why its settings.

A *profile* is a set of studies plus the prediction check. ``full`` is what `make validate` runs
(about 45 minutes on 2 cores); ``smoke`` runs the same code path on toy sizes in seconds (the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_MLP_TEACHER = {"model": {"family": "mlp"}, "task": {"name": "teacher", "options": {"d_in": 32, "d_out": 10}}}
_RESMLP_TEACHER = {"model": {"family": "resmlp", "dims": {"ff_mult": 1}},
                   "task": {"name": "teacher", "options": {"d_in": 32, "d_out": 10}}}
_GPT_BYTES = {"model": {"family": "gpt", "dims": {"d_head": 16}},
              "task": {"name": "bytes", "options": {"seq_len": 32}}}
_GPT_OPTIMIZER = {"name": "adamw", "betas": [0.9, 0.95], "weight_decay": 0.0, "warmup_steps": 20,
                  "schedule": "cosine", "grad_clip": 1.0}


@dataclass(frozen=True)
class Study:
    """One sweep of the validation.

    Attributes:
        key: short name (file names, anchors).
        title: what it shows, for the report.
        claim: ``width``, ``depth`` or ``sharpness`` (a width study with probes counts for both).
        spec: the sweep spec (a dict, validated when run).
        why: why these settings, in the report.
        transfers: parameterizations the theory says transfer along the axis.
        drifts: those it says do not (drift, or degrade with depth).
    """

    key: str
    title: str
    claim: str
    spec: dict[str, Any]
    why: str
    transfers: tuple[str, ...]
    drifts: tuple[str, ...]
    sharpness: bool = False


@dataclass(frozen=True)
class PredictionCheck:
    """Predict η* from a width study at ``factor``× its largest width, then measure it there.

    Attributes:
        study: key of the width study the prediction comes from.
        factor: how far beyond the largest swept width.
        half_range: the measuring grid spans the prediction ± this many octaves...
        step: ...at this step.
        seeds: seeds per LR of the measuring grid.
    """

    study: str
    factor: int
    half_range: float
    step: float
    seeds: tuple[int, ...]
    steps: int | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    studies: tuple[Study, ...]
    prediction: PredictionCheck | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _spec(name: str, base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": name, **base, **fields}


FULL = Profile("full", (
    Study("width-mlp", "Width, MLP on the teacher task: SP against μP", "width", _spec(
        "validate-width-mlp", _MLP_TEACHER, parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=256,
        widths=[256, 512, 1024], depths=[2], lr={"log2_min": -14, "log2_max": -7, "log2_step": 1},
        optimizer={"name": "adamw"}, steps=300, batch_size=32, eval_every=100, seeds=[0, 1, 2, 3],
        sharpness={"probes": 3, "variants": ["raw", "lr", "adam"], "max_iter": 20}),
        "The demo's sweep. Widths from 256: below it μP's optimum still moves at batch 32 (measured: 0.7 octave "
        "from 128 to 256, then about 0.1 per doubling), the pre-asymptotic regime the analysis flags. Four seeds: "
        "with fewer the μP slope's interval reaches past the tolerance. Eight LRs one octave apart bracket both "
        "optima at every width. Sharpness probes (3 per trial, raw / LR-scaled / Adam-preconditioned) feed the "
        "super-consistency study.", ("mup",), ("sp",), sharpness=True),
    Study("width-gpt", "Width, pre-LN GPT on bytes of Python source: SP against μP", "width", _spec(
        "validate-width-gpt", _GPT_BYTES, parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=64,
        widths=[64, 128, 256], depths=[2], lr={"log2_min": -12, "log2_max": -4, "log2_step": 1},
        optimizer=_GPT_OPTIMIZER, steps=200, batch_size=16, eval_every=100, seeds=[0, 1, 2],
        sharpness={"probes": 0}),
        "A second family and task. Two layers, heads of 16 (4 to 16 heads), context 32, batch 16, 200 steps with "
        "warm-up and cosine decay, the usual GPT AdamW settings (β₂ 0.95, clip 1); nine LRs one octave apart. The "
        "cost grows ~7× from width 64 to 256, so no probes. Three seeds: with two (measured here) μP's optima sat "
        "within 0.15 octave of each other but the slope's interval, [−0.39, +0.33], still straddled the tolerance.",
        ("mup",), ("sp",)),
    Study("depth-resmlp", "Depth, residual MLP on the teacher task: μP, depth-μP (α=½), CompleteP (α=1)", "depth",
          _spec("validate-depth-resmlp", _RESMLP_TEACHER,
                parameterizations=[{"name": "mup"}, {"name": "depth-mup"}, {"name": "completep"}],
                base_width=128, base_depth=2, widths=[128], depths=[2, 4, 8, 16, 32],
                lr={"log2_min": -12, "log2_max": -4, "log2_step": 1}, optimizer={"name": "adamw"}, steps=300,
                batch_size=64, eval_every=100, seeds=[0, 1, 2, 3, 4], sharpness={"probes": 0}),
          "Depths 2 to 32 (16×) at width 128 with two-layer residual blocks; nine LRs one octave apart (μP alone "
          "needs the high end at depth 32). Both depth rules should hold the optimum; μP alone (no branch "
          "multiplier) should move it or lose loss as depth grows. Five seeds: with three (measured here) the "
          "optima at depths 2 and 4 carried ±1 octave of seed scatter and CompleteP's slope, −0.20 [−0.45, +0.06], "
          "straddled the tolerance.", ("depth-mup", "completep"), ("mup",)),
    Study("depth-gpt", "Depth, pre-LN GPT on bytes: μP against CompleteP", "depth", _spec(
        "validate-depth-gpt", _GPT_BYTES, parameterizations=[{"name": "mup"}, {"name": "completep"}],
        base_width=64, base_depth=2, widths=[64], depths=[2, 4, 8, 16],
        lr={"log2_min": -10, "log2_max": -4, "log2_step": 1}, optimizer=_GPT_OPTIMIZER, steps=200, batch_size=16,
        eval_every=100, seeds=[0, 1, 2], sharpness={"probes": 0}),
        "The depth claim on the second family: 2 to 16 blocks (8×) at width 64, the GPT settings of the width "
        "study. Seven LRs from 2^-10: every optimum measured here lay between 2^-7.5 and 2^-6, so the grid "
        "keeps two octaves on either side. Three seeds: with two (measured here) CompleteP's slope, −0.25 "
        "[−0.36, −0.14], straddled the tolerance.", ("completep",), ("mup",)),
), PredictionCheck("width-mlp", factor=4, half_range=1.0, step=0.5, seeds=(0, 1)))


SMOKE = Profile("smoke", (
    Study("width-mlp", "Width, MLP (smoke)", "width", _spec(
        "smoke-width-mlp", _MLP_TEACHER, parameterizations=[{"name": "sp"}, {"name": "mup"}], base_width=16,
        widths=[16, 32], depths=[2], lr={"log2_min": -8, "log2_max": -4, "log2_step": 2}, steps=12, batch_size=8,
        eval_every=6, seeds=[0, 1], sharpness={"probes": 2, "variants": ["raw", "adam"], "batch_size": 8,
                                                "max_iter": 5}),
        "toy sizes: the code path only", ("mup",), ("sp",), sharpness=True),
    Study("depth-resmlp", "Depth, residual MLP (smoke)", "depth", _spec(
        "smoke-depth-resmlp", _RESMLP_TEACHER, parameterizations=[{"name": "mup"}, {"name": "completep"}],
        base_width=16, base_depth=2, widths=[16], depths=[2, 4], lr={"log2_min": -8, "log2_max": -4,
                                                                     "log2_step": 2},
        steps=12, batch_size=8, eval_every=6, seeds=[0, 1], sharpness={"probes": 0}),
        "toy sizes: the code path only", ("completep",), ("mup",)),
), PredictionCheck("width-mlp", factor=2, half_range=1.0, step=1.0, seeds=(0,)))

PROFILES = {p.name: p for p in (FULL, SMOKE)}

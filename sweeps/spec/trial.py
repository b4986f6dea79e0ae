"""One trial's configuration: everything that determines its result, and nothing else.

A `TrialConfig` is a frozen, typed object made of the spec's own parts (model, task,
parameterization, optimizer, sharpness probes) plus the trial's point in the grid (width, depth,
LR, seed). Its `id` is a content hash, so the same config in a rerun, or in another sweep, has the
same id and a finished trial is never run twice.

The hash is taken over the flat layout trial configs had when the first stores were written
(``model`` the family name, ``dims``, ``task`` the task name, ``task_options``, ...), so the ids
of those stores stay valid; `TrialConfig.id` documents the mapping.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import Field

from sweeps.spec.sweep import (
    TRUSTED,
    Frozen,
    ModelSpec,
    OptimizerSpec,
    ParamSpec,
    SharpnessSpec,
    SweepSpec,
    TaskSpec,
    stable_dump,
)


class TrialConfig(Frozen):
    """A trial: the spec's parts it uses and its point in the grid (see the module docstring)."""

    model: ModelSpec
    task: TaskSpec
    parameterization: ParamSpec
    base_width: int = Field(gt=0)
    base_depth: int = Field(gt=0)
    width: int = Field(gt=0)
    depth: int = Field(gt=0)
    lr: float = Field(gt=0)
    seed: int
    optimizer: OptimizerSpec
    steps: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    eval_every: int = Field(gt=0)
    log_every: int = Field(gt=0)
    divergence_factor: float = Field(gt=1)
    sharpness: SharpnessSpec

    @classmethod
    def of(cls, spec: SweepSpec, param: ParamSpec, width: int, depth: int, lr: float, seed: int) -> TrialConfig:
        """The config of one trial of ``spec``."""
        return cls(model=spec.model, task=spec.task, parameterization=param, base_width=spec.base_width,
                   base_depth=spec.resolved_base_depth(), width=width, depth=depth, lr=lr, seed=seed,
                   optimizer=spec.optimizer, steps=spec.steps, batch_size=spec.batch_size,
                   eval_every=spec.eval_every, log_every=spec.log_every,
                   divergence_factor=spec.divergence_factor, sharpness=spec.sharpness)

    @classmethod
    def stored(cls, text: str) -> TrialConfig:
        """A config the store kept (JSON), without the registry checks it passed when it was created."""
        return cls.model_validate_json(text, context=TRUSTED)

    @property
    def label(self) -> str:
        """The parameterization's label (``mup``, ``completep(alpha=0.75)``): the analysis groups by it."""
        return self.parameterization.label

    def hash_payload(self) -> dict[str, Any]:
        """The dict the id hashes: the flat layout of the first stores (see the module docstring)."""
        return {
            "model": self.model.family, "dims": dict(self.model.dims), "task": self.task.name,
            "task_options": dict(self.task.options),
            "parameterization": self.parameterization.model_dump(exclude_none=True), "label": self.label,
            "base_width": self.base_width, "base_depth": self.base_depth, "width": self.width, "depth": self.depth,
            "lr": self.lr, "seed": self.seed, "optimizer": stable_dump(self.optimizer), "steps": self.steps,
            "batch_size": self.batch_size, "eval_every": self.eval_every, "log_every": self.log_every,
            "divergence_factor": self.divergence_factor, "sharpness": stable_dump(self.sharpness),
        }

    @property
    def id(self) -> str:
        """A content hash of `hash_payload`: same config, same id."""
        payload = json.dumps(self.hash_payload(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

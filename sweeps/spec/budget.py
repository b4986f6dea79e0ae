"""The memory one trial of a spec needs, estimated before anything runs, against a server's budget.

At the largest width and depth of the spec, the model is built on PyTorch's meta device (no memory,
exact parameter count, any family a plugin adds). The estimate, in bytes, is the sum of

* parameters, gradients and optimizer state: 4 bytes × params × (2 + 2 for AdamW's moments, or 1
  for SGD's momentum);
* activations kept for the backward pass: 4 bytes × (training batch, or the probe batch × 3 for the
  double backward of a Hessian probe, whichever is larger) × tokens per example × the outputs of
  every Linear and Embedding module, plus attention scores (batch × tokens² × heads × layers) for a
  model with ``d_head``;
* the Krylov basis of a Hessian probe and its products: 4 bytes × params × 2 × ``max_iter`` (rounded
  up to the blocks of 8 rows the solver allocates), plus a scratch vector and the random start kept
  for each operator probed (one per variant, three at most);
* the task's data (held-out set, a teacher network, a corpus) where the task declares it.

It is a deliberately simple upper-ish bound, good to the factor of 2 a budget needs, not a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paramz.models import MODELS
from sweeps.spec.tasks import TASKS

MB = 2**20


@dataclass(frozen=True)
class Estimate:
    """A trial's estimated memory at the spec's largest shape, in bytes, by part."""

    width: int
    depth: int
    params: int
    state_bytes: int
    activation_bytes: int
    data_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.activation_bytes + self.data_bytes

    def describe(self) -> str:
        mb = lambda n: f"{n / MB:,.0f} MB"  # noqa: E731
        return (f"{mb(self.total_bytes)} at width {self.width}, depth {self.depth} ({self.params:,} parameters and "
                f"optimizer state {mb(self.state_bytes)}, activations {mb(self.activation_bytes)}, task data "
                f"{mb(self.data_bytes)})")


def estimate(spec: Any) -> Estimate:
    """The estimate of the module docstring for the largest (width, depth) of ``spec`` (a
    `sweeps.spec.SweepSpec`; not imported here, as the spec calls this while it validates)."""
    cls, config_type = MODELS[spec.model.family]
    task = TASKS[spec.task.name]
    options = task.OPTIONS.model_validate(spec.task.options) if task.OPTIONS is not None else None
    task_dims = options.model_dims() if options is not None else {}  # type: ignore[attr-defined]
    width, depth = max(spec.widths), max(spec.depths)
    config = config_type(width=width, depth=depth, **{**spec.model.dims, **task_dims})
    with torch.device("meta"):
        model = cls(config)
    params = sum(p.numel() for p in model.parameters())
    state = 4 * params * (4 if spec.optimizer.name == "adamw" else 3)
    if spec.sharpness.enabled:
        state += 4 * params * (2 * 8 * -(-spec.sharpness.max_iter // 8) + 1 + min(3, len(spec.sharpness.variants)))
    tokens = int(getattr(config, "seq_len", 1)) if hasattr(config, "d_head") or task.DIMS and "seq_len" in task.DIMS \
        else 1
    outputs = sum(m.out_features if isinstance(m, nn.Linear) else m.embedding_dim
                  for m in model.modules() if isinstance(m, (nn.Linear, nn.Embedding)))
    probe_batch = spec.sharpness.probe_batch_size(spec.batch_size)
    batch = max(spec.batch_size, 3 * probe_batch if spec.sharpness.enabled else 0)
    activations = 4 * batch * tokens * outputs
    if hasattr(config, "d_head"):
        heads = width // int(config.d_head)
        activations += 4 * batch * tokens * tokens * heads * depth
    data = options.data_bytes() if options is not None else 0  # type: ignore[attr-defined]
    return Estimate(width, depth, params, state, activations, data)

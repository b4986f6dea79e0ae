"""A user task, as an installed package would ship it (loaded through an entry point in the tests)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sweeps.spec.tasks import Task


class ParityTask(Task):
    """Regression onto the sum of the first two inputs: tiny and learnable."""

    KEYS = {"d_in"}
    DIMS = ("d_in", "d_out")

    def __init__(self, options):
        super().__init__("parity", options)
        self.d_in = options.get("d_in", 8)
        self.model_dims = {"d_in": self.d_in, "d_out": 1}

    def _sample(self, n, seed):
        x = torch.randn(n, self.d_in, generator=torch.Generator().manual_seed(seed))
        return x, x[:, :2].sum(dim=1, keepdim=True)

    def train_batch(self, step, batch_size, seed):
        return self._sample(batch_size, 1000 * seed + step)

    def eval_batch(self):
        return self._sample(256, 10**9)

    def loss(self, output, target):
        return F.mse_loss(output, target)


class NotATask:
    pass

"""MLP without residual connections: the width experiments of Tensor Programs V.

    x ─ emb: Linear(d_in, N) ─ φ ─ [hidden: Linear(N, N) ─ φ] × depth ─ out: Linear(N, d_out)

The first layer is the embedding (fan-in d_in is fixed), hidden→hidden layers are ``hidden``, the
last one is the readout. There are no residual blocks, so depth rules never apply: every bias is
an ``end-vec`` (which, without depth factors, has the same rules as a ``block-vec``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paramz.models.base import ZooModel


@dataclass(frozen=True)
class MLPConfig:
    width: int = 64       # N: hidden width, the dimension μP scales
    depth: int = 2        # number of hidden (N×N) layers
    d_in: int = 32        # input features (fixed as width grows)
    d_out: int = 10       # outputs / classes (fixed as width grows)
    bias: bool = True     # biases on every layer
    activation: str = "relu"  # relu | gelu | tanh | silu


class MLP(ZooModel):
    CONFIG = MLPConfig
    ROLES = {"emb.weight": "emb", "hidden.*.weight": "hidden", "out.weight": "out", "**.bias": "end-vec"}
    BLOCKS = ()

    def __init__(self, config: MLPConfig) -> None:
        super().__init__(config)
        n = config.width
        self.emb = nn.Linear(config.d_in, n, bias=config.bias)
        self.hidden = nn.ModuleList(nn.Linear(n, n, bias=config.bias) for _ in range(config.depth))
        self.out = nn.Linear(n, config.d_out, bias=config.bias)
        self.act = getattr(F, config.activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.emb(x) * self.multipliers.emb)
        for layer in self.hidden:
            h = self.act(layer(h))
        return self.out(h * self.multipliers.out)  # Table-8 readout: the multiplier scales the input

    def coord_modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"emb": self.emb, "out": self.out}
        mods.update({f"hidden.{i}": layer for i, layer in enumerate(self.hidden)})
        return mods

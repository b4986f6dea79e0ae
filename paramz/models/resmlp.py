"""Residual MLP with pre-LN blocks: the depth experiments (TP VI, CompleteP).

    h = α_in · emb(x)
    h ← h + r · W2 φ(W1 LN(h))        for each of the `depth` blocks, r = a · mL^(−α)
    y = out(LN_f(h) · α_out/mN)

TP VI's theory assumes one layer per block; blocks of two layers (transformer-like) are what
CompleteP covers, so this is the setting where CompleteP (α = 1) and depth-μP (α = ½) differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paramz.models.base import ZooModel


@dataclass(frozen=True)
class ResMLPConfig:
    width: int = 64       # N: residual stream width
    depth: int = 2        # L: number of residual blocks
    d_in: int = 32        # input features (fixed)
    d_out: int = 10       # outputs / classes (fixed)
    ff_mult: int = 1      # block hidden width = ff_mult · N
    activation: str = "relu"  # relu | gelu | tanh | silu


class Block(nn.Module):
    """One pre-LN residual block; the multiplier is applied by the caller."""

    def __init__(self, width: int, hidden: int, activation: str) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, width, bias=False)
        self.act = getattr(F, activation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.ln(h))))


class ResMLP(ZooModel):
    CONFIG = ResMLPConfig
    ROLES = {"emb.weight": "emb", "emb.bias": "end-vec", "blocks.*.ln.*": "block-vec",
             "blocks.*.*.weight": "hidden", "ln_f.*": "end-vec", "out.weight": "out", "out.bias": "end-vec"}
    BLOCKS = ("blocks.*",)

    def __init__(self, config: ResMLPConfig) -> None:
        super().__init__(config)
        n = config.width
        self.emb = nn.Linear(config.d_in, n)
        self.blocks = nn.ModuleList(Block(n, config.ff_mult * n, config.activation) for _ in range(config.depth))
        self.ln_f = nn.LayerNorm(n)
        self.out = nn.Linear(n, config.d_out)
        self.streams = nn.ModuleList(nn.Identity() for _ in range(config.depth))  # hook points: h after block i

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.multipliers
        h = self.emb(x) * m.emb
        for block, stream in zip(self.blocks, self.streams):
            h = stream(h + m.residual * block(h))
        return self.out(self.ln_f(h) * m.out)

    def coord_modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"emb": self.emb, "out": self.out}
        for i, (block, stream) in enumerate(zip(self.blocks, self.streams)):
            mods[f"blocks.{i}.branch"] = block
            mods[f"stream.{i}"] = stream
        mods["stream.final"] = self.streams[-1]
        return mods

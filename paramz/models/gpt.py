"""Pre-LN GPT in the shape of nanoGPT, with the hooks μP needs.

    x = α_in · (wte[idx] + wpe[pos])
    x ← x + r · attn(ln_1(x));  x ← x + r · mlp(ln_2(x))     per layer, r = a · mL^(−α)
    logits = lm_head(ln_f(x) · α_out/mN)                     (tied: wteᵀ)

Design choices a reader would question:
  * d_head is fixed and the number of heads grows with width (docs/rules.md): the attention-logit
    rule is then a constant and does not disturb width transfer; the scale still comes from
    ``multipliers.attn_scale`` so a parameterization can set it.
  * Attention is written out (not ``scaled_dot_product_attention``) so the logits pass through a
    module (``attn.logits``) that a coordinate check can hook.
  * q, k, v are separate Linears (not one fused c_attn) so zero-init of the query is one tensor.
  * Linears have no bias; LayerNorms keep theirs (``block-vec`` inside blocks, ``end-vec`` for ln_f).
  * One layer = one attention branch + one MLP branch, both multiplied; ``depth`` counts layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paramz.errors import ConfigError
from paramz.models.base import ZooModel


@dataclass(frozen=True)
class GPTConfig:
    width: int = 64        # d_model, the dimension μP scales (a multiple of d_head)
    depth: int = 2         # number of layers (attention + MLP each)
    d_head: int = 16       # head dimension, fixed as width grows
    vocab_size: int = 64   # tokens (fixed)
    seq_len: int = 64      # context length (learned positions)
    ff_mult: int = 4       # MLP hidden = ff_mult · width
    tied: bool = False     # tie lm_head to wte (allowed by the Table-8 readout)


class Attention(nn.Module):
    mask: torch.Tensor  # causal mask, a buffer

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        n = config.width
        self.n_head, self.d_head = n // config.d_head, config.d_head
        self.q, self.k, self.v, self.o = (nn.Linear(n, n, bias=False) for _ in range(4))
        self.logits = nn.Identity()  # hook point for coordinate checks
        self.register_buffer("mask", torch.ones(config.seq_len, config.seq_len).tril().bool(), persistent=False)

    def forward(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        b, t, n = x.shape
        q, k, v = (proj(x).view(b, t, self.n_head, self.d_head).transpose(1, 2) for proj in (self.q, self.k, self.v))
        att = self.logits((q @ k.transpose(-2, -1)) * scale)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        return self.o((att @ v).transpose(1, 2).reshape(b, t, n))


class MLPBranch(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.width, config.ff_mult * config.width, bias=False)
        self.proj = nn.Linear(config.ff_mult * config.width, config.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Layer(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(config.width), nn.LayerNorm(config.width)
        self.attn, self.mlp = Attention(config), MLPBranch(config)

    def forward(self, x: torch.Tensor, residual: float, attn_scale: float) -> torch.Tensor:
        x = x + residual * self.attn(self.ln_1(x), attn_scale)
        return x + residual * self.mlp(self.ln_2(x))


class GPT(ZooModel):
    CONFIG = GPTConfig
    ROLES = {"wte.weight": "emb", "wpe.weight": "emb", "blocks.*.ln_*.*": "block-vec",
             "blocks.**.weight": "hidden", "ln_f.*": "end-vec", "lm_head.weight": "out"}
    BLOCKS = ("blocks.*",)

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(config)  # checks every field's type and sign
        if config.width % config.d_head:
            raise ConfigError(f"width: {config.width} is not a multiple of d_head={config.d_head}; "
                              "heads scale with width, so pick a multiple")
        self.d_head = config.d_head
        self.wte = nn.Embedding(config.vocab_size, config.width)
        self.wpe = nn.Embedding(config.seq_len, config.width)
        self.blocks = nn.ModuleList(Layer(config) for _ in range(config.depth))
        self.ln_f = nn.LayerNorm(config.width)
        self.lm_head = None if config.tied else nn.Linear(config.width, config.vocab_size, bias=False)
        self.streams = nn.ModuleList(nn.Identity() for _ in range(config.depth))  # hook points
        self.logits = nn.Identity()  # hook point (a tied readout has no module of its own)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        m = self.multipliers
        scale = m.attn_scale if m.attn_scale is not None else self.d_head ** -0.5
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = (self.wte(idx) + self.wpe(pos)) * m.emb
        for layer, stream in zip(self.blocks, self.streams):
            x = stream(layer(x, m.residual, scale))
        x = self.ln_f(x) * m.out
        head = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return self.logits(F.linear(x, head))

    def coord_modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"emb": self.wte, "out": self.logits}
        for i, (layer, stream) in enumerate(zip(self.blocks, self.streams)):
            assert isinstance(layer, Layer)
            mods.update({f"blocks.{i}.attn": layer.attn, f"blocks.{i}.attn.logits": layer.attn.logits,
                         f"blocks.{i}.mlp": layer.mlp, f"stream.{i}": stream})
        mods["stream.final"] = self.streams[-1]
        return mods

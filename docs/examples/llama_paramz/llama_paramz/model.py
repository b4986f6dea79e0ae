"""A Llama-style decoder as a paramz model family: RMSNorm, SwiGLU, rotary embeddings, no biases.

    x = tok_emb[idx]
    x ← x + attn(norm(x));  x ← x + mlp(norm(x))          per layer
    logits = lm_head(norm(x))

Nothing in this file knows about μP. paramz learns the roles from the modules (Embedding, Linear,
RMSNorm) and from the shapes at two widths, and installs hooks: the ``lm_head`` input × α_out/mN
and each branch output (``layers.*.attn``, ``layers.*.mlp``) × a·mL^−α. The one thing a hook
cannot reach is the attention-logit scale: the model has a ``d_head`` attribute, so paramz computes
it, and ``forward`` reads ``self.multipliers.attn_scale`` (1/√d_head until parameterized).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paramz.errors import ConfigError
from paramz.models import ScalableModel


@dataclass(frozen=True)
class LlamaConfig:
    width: int = 64          # d_model, the dimension μP scales (a multiple of d_head)
    depth: int = 2           # layers (attention + SwiGLU MLP each)
    d_head: int = 16         # head dimension, fixed as width grows (heads = width / d_head)
    vocab_size: int = 64     # tokens
    seq_len: int = 64        # context length (rotary tables are precomputed for it)
    ff_mult: int = 2         # SwiGLU hidden = ff_mult · width
    rope_base: int = 10000   # rotary base


def rotary(seq_len: int, d_head: int, base: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables of rotary embeddings, (seq_len, d_head / 2)."""
    inv = 1.0 / base ** (torch.arange(0, d_head, 2).float() / d_head)
    angles = torch.outer(torch.arange(seq_len).float(), inv)
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates pairs of channels of x (batch, heads, time, d_head) by position."""
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        n = config.width
        self.n_head, self.d_head = n // config.d_head, config.d_head
        self.q, self.k, self.v, self.o = (nn.Linear(n, n, bias=False) for _ in range(4))

    def forward(self, x: torch.Tensor, scale: float, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, n = x.shape
        q, k, v = (proj(x).view(b, t, self.n_head, self.d_head).transpose(1, 2) for proj in (self.q, self.k, self.v))
        q, k = rotate(q, cos[:t], sin[:t]), rotate(k, cos[:t], sin[:t])
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
        return self.o(out.transpose(1, 2).reshape(b, t, n))


class SwiGLU(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        hidden = config.ff_mult * config.width
        self.gate = nn.Linear(config.width, hidden, bias=False)
        self.up = nn.Linear(config.width, hidden, bias=False)
        self.down = nn.Linear(hidden, config.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Layer(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.attn_norm, self.mlp_norm = nn.RMSNorm(config.width, eps=1e-6), nn.RMSNorm(config.width, eps=1e-6)
        self.attn, self.mlp = Attention(config), SwiGLU(config)

    def forward(self, x: torch.Tensor, scale: float, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), scale, cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class Llama(ScalableModel):
    CONFIG = LlamaConfig
    BRANCHES = ("layers.*.attn", "layers.*.mlp")  # their outputs get a·mL^-α (hooks)
    BLOCKS = ("layers.*",)                         # the norms of a layer are in its block too

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__(config)
        if config.width % config.d_head:
            raise ConfigError(f"width: {config.width} is not a multiple of d_head={config.d_head}")
        self.d_head = config.d_head  # tells paramz to compute the attention-logit scale
        self.tok_emb = nn.Embedding(config.vocab_size, config.width)
        self.layers = nn.ModuleList(Layer(config) for _ in range(config.depth))
        self.norm = nn.RMSNorm(config.width, eps=1e-6)
        self.lm_head = nn.Linear(config.width, config.vocab_size, bias=False)
        self.streams = nn.ModuleList(nn.Identity() for _ in range(config.depth))  # coordinate-check hook points
        cos, sin = rotary(config.seq_len, config.d_head, config.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        scale = self.multipliers.attn_scale or self.d_head ** -0.5
        x = self.tok_emb(idx)
        for layer, stream in zip(self.layers, self.streams):
            x = stream(layer(x, scale, self.cos, self.sin))
        return self.lm_head(self.norm(x))

    def coord_modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"emb": self.tok_emb, "out": self.lm_head}
        for i, (layer, stream) in enumerate(zip(self.layers, self.streams)):
            assert isinstance(layer, Layer)
            mods.update({f"layers.{i}.attn": layer.attn, f"layers.{i}.mlp": layer.mlp, f"stream.{i}": stream})
        mods["stream.final"] = self.streams[-1]
        return mods

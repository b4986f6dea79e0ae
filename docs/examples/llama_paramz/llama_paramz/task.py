"""``markov``: next-token prediction on sequences from a fixed random Markov chain.

The chain's transition matrix is drawn once from ``data_seed`` (sharp rows: a few likely next
tokens each), so the best achievable loss is the chain's entropy rate and a model learns it in a few
hundred steps on a CPU. Training batches are fresh samples; the held-out batch is fixed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from sweeps.spec.tasks import Batch, Task


def _generator(*parts: object) -> torch.Generator:
    seed = int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") & (2**63 - 1)
    return torch.Generator().manual_seed(seed)


class MarkovTask(Task):
    KEYS = {"data_seed", "vocab_size", "seq_len", "eval_size", "sharpness"}
    DIMS = ("vocab_size", "seq_len")

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__("markov", options, sequence=True)
        self.vocab = int(options.get("vocab_size", 64))
        self.seq_len = int(options.get("seq_len", 32))
        sharp = float(options.get("sharpness", 3.0))
        seed = options.get("data_seed", 0)
        logits = torch.randn(self.vocab, self.vocab, generator=_generator("markov", seed)) * sharp
        self.transitions = logits.softmax(dim=-1)
        self.model_dims = {"vocab_size": self.vocab, "seq_len": self.seq_len}
        self._eval = self._sample(int(options.get("eval_size", 256)), _generator("markov-eval", seed))

    def _sample(self, n: int, g: torch.Generator) -> Batch:
        seq = torch.empty(n, self.seq_len + 1, dtype=torch.long)
        seq[:, 0] = torch.randint(self.vocab, (n,), generator=g)
        for t in range(self.seq_len):
            seq[:, t + 1] = torch.multinomial(self.transitions[seq[:, t]], 1, generator=g).squeeze(1)
        return seq[:, :-1], seq[:, 1:]

    def train_batch(self, step: int, batch_size: int, seed: int) -> Batch:
        return self._sample(batch_size, _generator("markov-train", self.options.get("data_seed", 0), seed, step))

    def eval_batch(self) -> Batch:
        return self._eval

    def entropy_rate(self) -> float:
        """The best achievable loss (nats per token) of the chain, under its stationary distribution."""
        p = self.transitions
        pi = torch.full((self.vocab,), 1.0 / self.vocab)
        for _ in range(200):
            pi = pi @ p
        return float(-(pi[:, None] * p * p.clamp_min(1e-30).log()).sum())

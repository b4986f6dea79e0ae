"""Stacking trials of one shape into one batched model: does it pay on this machine? Ratios from one run.

K trials of the same shape (the LRs of one width, one seed) trained step by step two ways, on one torch
thread:

* **one by one**: K separate models, each a forward, a backward and a fused AdamW step (what a worker
  does now, K times);
* **stacked**: the K models' parameters stacked along a new leading axis, the forward of all K at
  once by ``torch.func.vmap`` over ``functional_call`` (batched matmuls), one backward of the summed
  losses, and the K fused AdamW steps on views of the stacked tensors (the update stays bitwise the
  unstacked one);
* for the MLP also **hand bmm**: the same stacked step written by hand with ``torch.baddbmm`` (no vmap),
  the best a stacked MLP could do.

Printed: milliseconds per K trial-steps and trials per second stacked over one by one. Stacking is
worth building where that ratio is well above 1 for the shapes sweeps run; `docs/benchmarks.md`
says what it measured and what was decided.

    .venv/bin/python bench/stacking.py [--k 8]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch.func import functional_call, vmap

import paramz

Shape = tuple[str, dict, Callable[[], tuple[torch.Tensor, torch.Tensor]]]


def _ms(step: Callable[[], None], repeats: int) -> float:
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1e3


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def measure(family: str, dims: dict, batch: Callable[[], tuple[torch.Tensor, torch.Tensor]], k: int,
            repeats: int) -> dict[str, float]:
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        model = paramz.models.build(family, **dims)
        paramz.parameterize(model, "mup", base_width=dims["width"], base_depth=dims.get("depth"))
        models.append(model)
    x, y = batch()
    opts = [paramz.make_optimizer(m, "adamw", lr=1e-3) for m in models]

    def one_by_one() -> None:
        for model, opt in zip(models, opts):
            opt.zero_grad(set_to_none=True)
            _loss(model(x), y).backward()
            opt.step()

    names = [n for n, _ in models[0].named_parameters()]
    stacked = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]).requires_grad_()
               for n in names}
    views = [{n: stacked[n].detach()[i] for n in names} for i in range(k)]
    for i, model in enumerate(models):  # each model's parameters now live in the stacked storage
        for n, p in model.named_parameters():
            p.data = views[i][n]
    base = models[0]
    losses = vmap(lambda params, x, y: _loss(functional_call(base, params, (x,)), y), in_dims=(0, None, None))

    def stacked_step() -> None:
        for n in names:
            stacked[n].grad = None
        losses(stacked, x, y).sum().backward()
        for i, (model, opt) in enumerate(zip(models, opts)):
            for n, p in model.named_parameters():
                p.grad = stacked[n].grad[i]
            opt.step()

    out = {"one by one": _ms(one_by_one, repeats), "stacked": _ms(stacked_step, repeats)}
    if family == "mlp":
        def hand() -> None:
            for n in names:
                stacked[n].grad = None
            h = x.expand(k, -1, -1)
            layers = ["emb"] + [f"hidden.{i}" for i in range(dims["depth"])]
            for layer in layers:
                h = torch.relu(torch.baddbmm(stacked[f"{layer}.bias"][:, None], h,
                                             stacked[f"{layer}.weight"].transpose(1, 2)))
            logits = torch.baddbmm(stacked["out.bias"][:, None], h, stacked["out.weight"].transpose(1, 2))
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(k), reduction="none") \
                .view(k, -1).mean(1).sum().backward()
            for i, (model, opt) in enumerate(zip(models, opts)):
                for n, p in model.named_parameters():
                    p.grad = stacked[n].grad[i]
                opt.step()
        out["hand bmm"] = _ms(hand, repeats)
    return out


def shapes() -> list[tuple[str, str, dict, Callable[[], tuple[torch.Tensor, torch.Tensor]]]]:
    def features(n: int, d_in: int = 32, d_out: int = 10) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
        return lambda: (torch.randn(n, d_in), torch.randint(0, d_out, (n,)))

    def tokens() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randint(0, 256, (16, 32)), torch.randint(0, 256, (16, 32))

    out = [(f"MLP width {w}, batch 32", "mlp", {"width": w, "depth": 2, "d_in": 32, "d_out": 10}, features(32))
           for w in (64, 128, 256, 512)]
    out.append(("residual MLP width 128, depth 8, batch 64", "resmlp",
                {"width": 128, "depth": 8, "ff_mult": 1, "d_in": 32, "d_out": 10}, features(64)))
    out.append(("GPT width 64, 2 layers, 16×32 tokens", "gpt",
                {"width": 64, "depth": 2, "d_head": 16, "vocab_size": 256, "seq_len": 32}, tokens))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8, help="trials per stack")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.set_num_threads(1)
    console = Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"{args.k} trials of one shape: ms per {args.k} trial-steps (one thread)")
    for col in ("shape", "one by one", "stacked (vmap)", "stacked / one by one", "hand bmm", "hand / one by one"):
        table.add_column(col, justify="right")
    for label, family, dims, batch in shapes():
        t = measure(family, dims, batch, args.k, args.repeats)
        hand = t.get("hand bmm")
        table.add_row(label, f"{t['one by one']:.2f}", f"{t['stacked']:.2f}",
                      f"{t['one by one'] / t['stacked']:.2f}×", "—" if hand is None else f"{hand:.2f}",
                      "—" if hand is None else f"{t['one by one'] / hand:.2f}×")
    console.print(table)
    console.print("a ratio above 1: stacking trains that many more trials per second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""AdamW's fused kernel against its default loop, as ratios measured in one run on one torch thread.

Per width, a μP MLP (depth 2, batch 32, the demo's shape): the time of ``optimizer.step()`` alone and of
a whole training step (forward, backward, step), median of 5 repeats of 10 steps each, for the
default (foreach) AdamW and ``fused=True`` (what `paramz.make_optimizer` now picks on CPU and CUDA),
and the largest relative difference ‖a − b‖/‖b‖ of a parameter tensor after the same sequence (50
training steps and 50 lone optimizer steps): float rounding, grown by the dynamics.

    .venv/bin/python bench/optimizer.py [--widths 128,512,1024]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table

import paramz


def _model(width: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = paramz.models.build("mlp", width=width, depth=2, d_in=32, d_out=10)
    paramz.parameterize(model, "mup", base_width=min(width, 256), base_depth=2)
    return model


def measure(width: int, fused: bool) -> tuple[float, float, list[torch.Tensor]]:
    model = _model(width)
    opt = paramz.make_optimizer(model, "adamw", lr=1e-3, weight_decay=0.1, fused=fused)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 32, generator=g), torch.randint(0, 10, (32,), generator=g)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    steps, opts = [], []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(10):
            step()
        steps.append((time.perf_counter() - t) / 10)
        t = time.perf_counter()
        for _ in range(10):
            opt.step()
        opts.append((time.perf_counter() - t) / 10)
    return statistics.median(steps), statistics.median(opts), [p.detach().clone() for p in model.parameters()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="128,512,1024")
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = Table(title="AdamW on one thread: default loop vs fused (medians; ratio = default / fused)",
                  title_justify="left")
    for col in ("width", "step default ms", "step fused ms", "step ratio", "opt.step default ms",
                "opt.step fused ms", "opt.step ratio", "param diff ‖a−b‖/‖b‖"):
        table.add_column(col, justify="right")
    for width in (int(w) for w in args.widths.split(",")):
        s0, o0, p0 = measure(width, fused=False)
        s1, o1, p1 = measure(width, fused=True)
        diff = max(float((a - b).norm() / b.norm().clamp_min(1e-30)) for a, b in zip(p0, p1, strict=True))
        table.add_row(str(width), f"{s0 * 1e3:.2f}", f"{s1 * 1e3:.2f}", f"{s0 / s1:.2f}", f"{o0 * 1e3:.2f}",
                      f"{o1 * 1e3:.2f}", f"{o0 / o1:.2f}", f"{diff:.1e}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cost of a sharpness probe, as ratios measured in one run (one torch thread).

For an MLP (depth 4, batch 128, μP, AdamW) at widths 64…1024, each probe solved to a residual of
``--tol``·λ (default: a sweep's, 1e-2), it prints:
  * HVPs per probe, cold (random start) and warm (previous eigenvector, after one training step),
  * probe time / training-step time (cold and warm),
  * one HVP / one gradient (double backprop with the gradient graph kept),
  * torch.func forward-over-reverse HVP time / double-backprop HVP time (speed only: it gave wrong
    Hessians on the GPT, see paramz/sharpness/hessian.py),
  * the training step's FLOP rate / the measured float32 matmul peak.

    .venv/bin/python bench/sharpness.py [--widths 64 128 256 512 1024] [--repeats 5] [--tol 1e-2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, jvp

import paramz
from paramz.sharpness import hvp_operator, probe_model
from sweeps.spec.sweep import SharpnessSpec


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(n: int = 1024, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / median_time(lambda: a @ b, repeats)


def bench_width(width: int, repeats: int, peak: float, tol: float) -> dict[str, float]:
    torch.manual_seed(0)
    model = paramz.models.build("mlp", width=width, depth=4, d_in=64, d_out=10)
    paramz.parameterize(model, "mup", base_width=64)
    opt = paramz.make_optimizer(model, "adamw", lr=1e-3)
    x, y = torch.randn(128, 64), torch.randint(10, (128,))
    loss_fn = lambda m: F.cross_entropy(m(x), y)  # noqa: E731

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model).backward()
        opt.step()

    t_step = median_time(step, repeats)
    params = list(model.parameters())
    t_grad = median_time(lambda: torch.autograd.grad(loss_fn(model), params), repeats)
    hvp = hvp_operator(lambda: loss_fn(model), params)
    v = torch.randn(sum(p.numel() for p in params))
    t_hvp = median_time(lambda: hvp(v), repeats)

    names = [n for n, _ in model.named_parameters()]
    detached = {n: p.detach() for n, p in model.named_parameters()}
    tangent = dict(zip(names, paramz.sharpness.unflatten(v, params)))
    f = lambda ps: F.cross_entropy(functional_call(model, ps, (x,)), y)  # noqa: E731
    t_func = median_time(lambda: jvp(grad(f), (detached,), (tangent,)), repeats)

    cold_hvps, warm_hvps, cold_t, warm_t, previous = [], [], [], [], None
    for _ in range(repeats):
        step()
        gen = torch.Generator().manual_seed(1)
        start = time.perf_counter()
        cold = probe_model(model, loss_fn, generator=gen, tol=tol)["raw"]
        mid = time.perf_counter()
        warm = probe_model(model, loss_fn, warm=previous, generator=gen, tol=tol)["raw"]
        end = time.perf_counter()
        previous = {"raw": warm.eigenvector}
        cold_hvps.append(cold.hvps), warm_hvps.append(warm.hvps)
        cold_t.append(mid - start), warm_t.append(end - mid)
    flops = 3 * 2 * 128 * sum(p.numel() for p in params if p.dim() == 2)  # forward + backward matmuls
    return {"width": width, "params": sum(p.numel() for p in params),
            "hvp_cold": statistics.median(cold_hvps), "hvp_warm": statistics.median(warm_hvps[1:]),
            "probe/step cold": statistics.median(cold_t) / t_step,
            "probe/step warm": statistics.median(warm_t[1:]) / t_step,
            "hvp/grad": t_hvp / t_grad, "func/dbl": t_func / t_hvp, "step/peak": flops / t_step / peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tol", type=float, default=SharpnessSpec().tol, help="residual tolerance of each probe")
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = matmul_peak()
    print(f"float32 matmul peak (1 thread, 1024²): {peak / 1e9:.1f} GFLOP/s; probes to a residual of {args.tol:g}·λ")
    cols = ["width", "params", "hvp_cold", "hvp_warm", "probe/step cold", "probe/step warm", "hvp/grad",
            "func/dbl", "step/peak"]
    print(" ".join(f"{c:>15}" for c in cols))
    for width in args.widths:
        row = bench_width(width, args.repeats, peak, args.tol)
        print(" ".join(f"{row[c]:>15.0f}" if c in ("width", "params") else f"{row[c]:>15.2f}" for c in cols),
              flush=True)


if __name__ == "__main__":
    main()

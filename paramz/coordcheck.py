"""Coordinate checks (TP V App. D; CompleteP Fig. 7): do activations stay Θ(1) as the model grows?

For each model size, train a few steps with a large LR on one fixed batch, and record the mean
``|x|`` of every module output at every step (step 0 is the initial forward pass). Per module and
step, the least-squares slope of ``log mean|x|`` against ``log width`` (or ``log depth``) says how
it moves with size. The verdict is taken at the last step T: a module passes when that slope lies
in ``[-threshold, threshold]`` (0.2 is ×1.15 per doubling). The steepest slope over steps 1..T is
reported next to it: small models show transients (a GPT at depths 2–16 under depth-μP peaked at
0.33 at step 4 and was back to 0.11 at step 10, measured here), so judging every step would fail
correct parameterizations, while a wrong one (μP without depth rules: +1.15) fails at T anyway.

Two exceptions, from docs/rules.md check 4 and TP VI:
  * the readout (``out``) and attention logits may shrink as 1/√N under μP without zero-init,
    since their init term is ``W0·x/N``; they pass with slopes down to ``-(0.5 + threshold)``;
  * in a depth check the stream after block i (``stream.i``) is not compared, because under
    α > 0 block i's share of the stream shrinks with the total depth by design; the final stream
    (``stream.final``) and every branch output are.

Models with a final residual stream also record how far it moved from its value at init,
``stream.final.update`` = mean ``|h_t − h_0|`` on the fixed batch, and judge it like a module. It
is the quantity depth transfer is about (every block keeps learning: the summed update stays Θ(1)),
and it has no init transient: under CompleteP (α = 1) the stream itself shrinks like L^−½ at init
when the branches outweigh the embedding, until the updates dominate, while its update is flat from
the first step (measured on the zoo GPT and a Llama-style plugin; μP without depth rules: ≈ L^1).

Depth checks also report, per residual block, the relative update ``‖W_T − W_0‖/‖W_0‖`` of its
hidden matrices (docs/rules.md, check 6).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from paramz.errors import ConfigError
from paramz.groups import make_optimizer
from paramz.models import ScalableModel, build
from paramz.parameterize import parameterize
from paramz.plan import HParams, plan_of
from paramz.rules import OPTIMIZERS, get, unknown_name

DEFAULT_THRESHOLD = 0.2
FINAL_STREAM, FINAL_UPDATE = "stream.final", "stream.final.update"


@dataclass(frozen=True)
class CoordRecord:
    width: int
    depth: int
    module: str
    step: int
    mean_abs: float


@dataclass(frozen=True)
class UpdateRecord:
    width: int
    depth: int
    block: int
    rel_update: float  # ‖W_T − W_0‖_F / ‖W_0‖_F over the block's hidden matrices


@dataclass(frozen=True)
class Verdict:
    module: str
    axis: str          # "width" or "depth"
    slope: float       # d log mean|x| / d log scale at the last step T (the verdict)
    growth: float      # mean|x| at the largest scale / at the smallest, at step T
    steepest: float    # the slope of largest magnitude over steps 1..T (information)
    threshold: float
    passed: bool


@dataclass
class CoordResult:
    parameterization: str
    model: str
    axis: str
    records: list[CoordRecord] = field(default_factory=list)
    updates: list[UpdateRecord] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def to_dict(self) -> dict[str, object]:
        return {"parameterization": self.parameterization, "model": self.model, "axis": self.axis,
                "passed": self.passed, "records": [asdict(r) for r in self.records],
                "updates": [asdict(u) for u in self.updates], "verdicts": [asdict(v) for v in self.verdicts]}


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-30)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    var = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / var


def _batch(model: ScalableModel, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = model.config
    if hasattr(cfg, "vocab_size"):  # GPT: random tokens, next-token loss
        tokens = torch.randint(cfg.vocab_size, (batch_size, cfg.seq_len + 1), generator=generator)
        return tokens[:, :-1], tokens[:, 1:]
    x = torch.randn(batch_size, cfg.d_in, generator=generator)
    return x, torch.randint(cfg.d_out, (batch_size,), generator=generator)


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def _block_updates(model: nn.Module, start: dict[str, torch.Tensor]) -> dict[int, float]:
    sq_delta: dict[int, float] = {}
    sq_norm: dict[int, float] = {}
    plan = plan_of(model)
    for name, p in model.named_parameters():
        info = plan.infos[name]
        if info.role != "hidden" or not name.startswith("blocks."):
            continue
        block = int(name.split(".")[1])
        sq_delta[block] = sq_delta.get(block, 0.0) + float((p.detach() - start[name]).pow(2).sum())
        sq_norm[block] = sq_norm.get(block, 0.0) + float(start[name].pow(2).sum())
    return {b: math.sqrt(sq_delta[b] / sq_norm[b]) for b in sq_delta}


def run_one(model: ScalableModel, steps: int, lr: float, optimizer: str, batch_size: int, seed: int,
            ) -> tuple[dict[tuple[str, int], float], dict[int, float]]:
    """Trains one parameterized model ``steps`` steps on one batch, recording mean |x| per module."""
    gen = torch.Generator().manual_seed(seed + 1)
    x, y = _batch(model, batch_size, gen)
    opt = make_optimizer(model, optimizer, lr=lr)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen: dict[tuple[str, int], float] = {}
    step = [0]
    initial: dict[str, torch.Tensor] = {}

    def record(name: str, output: torch.Tensor) -> None:
        out = output.detach()
        seen[(name, step[0])] = float(out.abs().mean())
        if name == FINAL_STREAM:  # and how far it moved from its value at init (the same batch every step)
            if step[0] == 0:
                initial[name] = out.clone()
            else:
                seen[(FINAL_UPDATE, step[0])] = float((out - initial[name]).abs().mean())

    handles = [mod.register_forward_hook(  # prepend: before any multiplier hook, so a branch records F(x)
        lambda m, i, o, name=name: record(name, o), prepend=True) for name, mod in model.coord_modules().items()]
    try:
        for t in range(steps + 1):
            step[0] = t
            loss = _loss(model(x), y)
            if t < steps:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    finally:
        for h in handles:
            h.remove()
    return seen, _block_updates(model, start)


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name}: must be a positive integer, got {value!r}")


def check_inputs(*, widths: Sequence[int], depths: Sequence[int], steps: int, lr: float, optimizer: str,
                 batch_size: int, seeds: int, threshold: float) -> None:
    """The checks `coord_check` makes before it trains anything (the CLI gets the same ones).

    Raises:
        ConfigError: naming the input: sizes that are not distinct positive integers, both axes
            (or neither) varied, a non-positive count, an LR or threshold that is not finite and
            positive, an unknown optimizer.
    """
    for name, values in (("widths", widths), ("depths", depths)):
        if not values:
            raise ConfigError(f"{name}: give at least one value")
        for value in values:
            _positive_int(name, value)
        repeated = sorted({v for v in values if list(values).count(v) > 1})
        if repeated:
            raise ConfigError(f"{name}: {', '.join(map(str, repeated))} given more than once; give distinct values")
    if len(widths) > 1 and len(depths) > 1:
        raise ConfigError("widths/depths: vary one axis at a time (give one depth for a width check)")
    if len(widths) == 1 and len(depths) == 1:
        raise ConfigError("widths/depths: give at least two widths (width check) or two depths (depth check)")
    for name, count in (("steps", steps), ("batch_size", batch_size), ("seeds", seeds)):
        _positive_int(name, count)
    for name, number in (("lr", lr), ("threshold", threshold)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) or number <= 0:
            raise ConfigError(f"{name}: must be a finite positive number, got {number!r}")
    if optimizer not in OPTIMIZERS:
        raise unknown_name("optimizer", optimizer, OPTIMIZERS)


def coord_check(model: str, parameterization: str, *, widths: Sequence[int], depths: Sequence[int],
                steps: int = 5, lr: float = 1e-2, optimizer: str = "adamw", base_width: int | None = None,
                base_depth: int | None = None, batch_size: int = 32, seeds: int = 1, seed: int = 0,
                threshold: float = DEFAULT_THRESHOLD, hp: HParams | None = None,
                options: dict[str, object] | None = None, dims: dict[str, object] | None = None) -> CoordResult:
    """Runs a width or a depth coordinate check and returns records and verdicts.

    Args:
        model: a registered family (``mlp``, ``resmlp``, ``gpt``, or a plugin's).
        parameterization: ``sp``, ``mup``, ``depth-mup``, ``completep``.
        widths: widths to try; several → a width check (``depths`` then has one value).
        depths: depths to try; several → a depth check (``widths`` then has one value).
        steps: optimizer steps (records are taken at steps 0..steps).
        lr: base learning rate (large, to make a bad parameterization blow up quickly).
        optimizer: ``adamw`` or ``sgd``.
        base_width: base width (default: the smallest width).
        base_depth: base depth (default: the smallest depth).
        batch_size: size of the fixed batch.
        seeds: model seeds averaged per size (mean |x| is averaged).
        seed: first seed.
        threshold: allowed |slope| per step (see the module docstring).
        hp: base HPs living in the model.
        options: options of the parameterization (``alpha``, ``zero_init_readout``...).
        dims: other fields of the model config (``d_in``, ``d_head``...).

    Returns:
        A `CoordResult` with one `Verdict` per module present at every size.

    Raises:
        ConfigError: bad inputs (see `check_inputs`), or no module comparable across sizes.
    """
    pz = get(parameterization, **(options or {}))
    check_inputs(widths=widths, depths=depths, steps=steps, lr=lr, optimizer=optimizer, batch_size=batch_size,
                 seeds=seeds, threshold=threshold)
    axis = "width" if len(widths) > 1 else "depth"
    base_width = min(widths) if base_width is None else base_width
    base_depth = min(depths) if base_depth is None else base_depth
    result = CoordResult(pz.name, model, axis)
    sums: dict[tuple[int, int, str, int], float] = {}
    for width in sorted(widths):
        for depth in sorted(depths):
            for s in range(seeds):
                torch.manual_seed(seed + s)
                net = build(model, width=width, depth=depth, **(dims or {}))
                parameterize(net, pz, base_width=base_width, base_depth=base_depth, hp=hp)
                seen, updates = run_one(net, steps, lr, optimizer, batch_size, seed)
                for (module, step), value in seen.items():
                    key = (width, depth, module, step)
                    sums[key] = sums.get(key, 0.0) + value / seeds
                for block, rel in updates.items():
                    result.updates.append(UpdateRecord(width, depth, block, rel))
    result.records = [CoordRecord(w, d, m, t, v) for (w, d, m, t), v in sums.items()]
    result.verdicts = verdicts(result.records, axis, steps, threshold)
    if not result.verdicts:
        raise ConfigError(f"{axis}s: no recorded module is present at every size, so nothing can be judged; "
                          "check the model's coord_modules()")
    return result


def verdicts(records: Sequence[CoordRecord], axis: str, steps: int, threshold: float) -> list[Verdict]:
    """One verdict per comparable module: slope of log mean|x| vs log scale at the last step.

    Args:
        records: coordinate records of one parameterization.
        axis: ``width`` or ``depth``.
        steps: T, the last step recorded.
        threshold: the allowed |slope| (see the module docstring for the two exceptions).

    Returns:
        Verdicts, in the order modules were first recorded.
    """
    by_module: dict[str, dict[int, dict[int, float]]] = {}
    for r in records:
        scale = r.width if axis == "width" else r.depth
        by_module.setdefault(r.module, {}).setdefault(r.step, {})[scale] = r.mean_abs
    scales = {r.width if axis == "width" else r.depth for r in records}
    out = []
    for module, by_step in by_module.items():
        if axis == "depth" and re.fullmatch(r"stream\.\d+", module):
            continue
        if any(set(by_step.get(t, {})) != scales for t in range(1, steps + 1)):
            continue  # e.g. blocks.7.mlp exists only at the larger depths
        slopes = []
        for t in range(1, steps + 1):
            xs = sorted(by_step[t])
            slopes.append(loglog_slope(xs, [by_step[t][x] for x in xs]))
        low = -(0.5 + threshold) if module == "out" or module.endswith("logits") else -threshold
        last = by_step[steps]
        growth = last[max(last)] / last[min(last)]
        out.append(Verdict(module, axis, slopes[-1], growth, max(slopes, key=abs), threshold,
                           low <= slopes[-1] <= threshold))
    return out

"""Sharpness probes against dense eigensolves, known spectra, and the edge of stability."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

import paramz
from paramz.sharpness import (
    Workspace,
    diagonal_scale,
    flatten,
    hvp_operator,
    lanczos,
    operator_of,
    probe_model,
    scaled,
    top_eigenvalue,
    unflatten,
)


def quadratic(eigenvalues, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=g))
    a = q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
    x = torch.randn(n, dtype=torch.float64, generator=g, requires_grad=True)
    return (lambda: 0.5 * x @ a @ x), x


SPECTRA = {
    "separated": [10.0] + torch.linspace(-1, 5, 199).tolist(),
    "tiny gap": [10.0, 10.0 - 1e-5, 9.99] + torch.linspace(-1, 9, 197).tolist(),
    "negative dominant": [-50.0, -40.0, 10.0] + torch.linspace(-5, 9.5, 197).tolist(),
}


@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_largest_algebraic_eigenvalue_of_known_spectra(spectrum, method):
    loss, x = quadratic(SPECTRA[spectrum])
    res = top_eigenvalue(loss, [x], method=method, tol=1e-6, max_iter=100 if method == "lanczos" else 3000,
                         generator=torch.Generator().manual_seed(3))
    assert res.eigenvalue == pytest.approx(10.0, rel=1e-3)
    assert float(res.residuals[0]) <= 1e-3 * 10  # the residual is reported honestly
    if method == "lanczos" and spectrum != "tiny gap":
        assert res.converged and res.matvecs < 60


def test_top_k_and_residuals_are_true_residuals():
    loss, x = quadratic(SPECTRA["negative dominant"])
    res = top_eigenvalue(loss, [x], k=3, tol=1e-8, generator=torch.Generator().manual_seed(0))
    expected = sorted(SPECTRA["negative dominant"], reverse=True)[:3]
    assert res.eigenvalues.tolist() == pytest.approx(expected, rel=1e-6)
    g = torch.Generator().manual_seed(0)  # the same A that quadratic() built
    q, _ = torch.linalg.qr(torch.randn(200, 200, dtype=torch.float64, generator=g))
    a = q @ torch.diag(torch.tensor(SPECTRA["negative dominant"], dtype=torch.float64)) @ q.T
    for lam, v, r in zip(res.eigenvalues, res.eigenvectors, res.residuals):
        assert float((a @ v - lam * v).norm()) == pytest.approx(float(r), rel=1e-3, abs=1e-9)


def dense_hessian(model, loss_of_output, batch):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p for p in model.parameters()]

    def f(flat):
        params = dict(zip(names, unflatten(flat, shapes)))
        return loss_of_output(functional_call(model, params, (batch,)))

    flat = flatten([p.detach() for p in model.parameters()])
    # vectorize=True agrees with the row-by-row Hessian to 1e-16 here; torch.func.hessian (jacfwd of
    # jacrev) did not on the GPT (asymmetric, off by 0.03 at ln_f × wpe entries, torch 2.13).
    return torch.autograd.functional.hessian(f, flat, vectorize=True)


def small_model(kind, seed):
    torch.manual_seed(seed)
    if kind == "mlp":
        model = paramz.models.build("mlp", width=32, depth=1, d_in=8, d_out=4)
        x = torch.randn(64, 8, generator=torch.Generator().manual_seed(seed + 10), dtype=torch.float64)
        y = torch.randint(4, (64,), generator=torch.Generator().manual_seed(seed + 20))
        loss = lambda out: F.cross_entropy(out, y)  # noqa: E731
    else:
        model = paramz.models.build("gpt", width=16, depth=1, d_head=8, vocab_size=12, seq_len=8, ff_mult=1)
        tok = torch.randint(12, (8, 9), generator=torch.Generator().manual_seed(seed + 10))
        x, y = tok[:, :-1], tok[:, 1:]
        loss = lambda out: F.cross_entropy(out.reshape(-1, 12), y.reshape(-1))  # noqa: E731
    paramz.parameterize(model, "mup", base_width=8)  # per-layer LRs differ: hidden lr_mult 1/4 or 1/2
    model.double()
    assert sum(p.numel() for p in model.parameters()) <= 5000
    return model, x, loss


def train(model, x, loss, steps):
    opt = paramz.make_optimizer(model, "adamw", lr=3e-3)
    for _ in range(steps):
        opt.zero_grad()
        loss(model(x)).backward()
        opt.step()
    return opt


@pytest.mark.parametrize("kind", ["mlp", "gpt"])
@pytest.mark.parametrize("seed,steps", [(0, 0), (1, 0), (2, 25), (3, 25)])
def test_probe_variants_match_dense_eigvalsh(kind, seed, steps):
    model, x, loss = small_model(kind, seed)
    opt = train(model, x, loss, max(steps, 1))  # the adam variant needs one step of state
    h = dense_hessian(model, loss, x)
    params = list(model.parameters())
    probes = probe_model(model, lambda m: loss(m(x)), variants=("raw", "lr", "adam"), optimizer=opt, lr=3e-3,
                         tol=1e-5, max_iter=200, generator=torch.Generator().manual_seed(seed))
    for variant in ("raw", "lr", "adam"):
        scale = diagonal_scale(opt, variant, params)
        root = torch.ones(h.shape[0], dtype=h.dtype) if scale is None else flatten(scale).sqrt()
        dense = torch.linalg.eigvalsh(root[:, None] * h * root[None, :])[-1].item()
        assert probes[variant].eigenvalue == pytest.approx(dense, rel=1e-3), variant
        assert probes[variant].converged


@pytest.mark.parametrize("kind", ["mlp", "gpt"])
@pytest.mark.parametrize("seed,steps", [(0, 1), (2, 25), (3, 25)])
def test_the_sweeps_default_tolerance_holds_against_dense_eigvalsh(kind, seed, steps):
    """A sweep's probes stop at a residual of tol·λ (tol = 1e-2 by default, SharpnessSpec): every
    variant's λ_max is then within tol of the dense one; in practice within ~1e-4."""
    tol = 1e-2
    model, x, loss = small_model(kind, seed)
    opt = train(model, x, loss, steps)
    h = dense_hessian(model, loss, x)
    probes = probe_model(model, lambda m: loss(m(x)), variants=("raw", "lr", "adam"), optimizer=opt, lr=3e-3,
                         tol=tol, max_iter=20, generator=torch.Generator().manual_seed(seed))
    for variant in ("raw", "lr", "adam"):
        scale = diagonal_scale(opt, variant, list(model.parameters()))
        root = torch.ones(h.shape[0], dtype=h.dtype) if scale is None else flatten(scale).sqrt()
        dense = torch.linalg.eigvalsh(root[:, None] * h * root[None, :])[-1].item()
        assert probes[variant].converged and probes[variant].residual <= tol * abs(dense) * 1.02, variant
        assert probes[variant].eigenvalue == pytest.approx(dense, rel=tol), variant


@pytest.mark.parametrize("kind", ["mlp", "gpt"])
def test_lr_without_a_warm_start_starts_from_this_probes_raw_eigenvector(kind):
    """μP's LR ratios are constant per group, so D^½HD^½'s top eigenvector is close to H's: solved after
    ``raw``, ``lr`` needs fewer HVPs than alone (here 5-7 against 7-12), at the same accuracy."""
    after_raw = alone = 0
    for seed in range(4):
        model, x, loss = small_model(kind, seed)
        opt = train(model, x, loss, 1)
        h = dense_hessian(model, loss, x)
        root = flatten(diagonal_scale(opt, "lr", list(model.parameters()))).sqrt()
        dense = torch.linalg.eigvalsh(root[:, None] * h * root[None, :])[-1].item()
        kwargs = dict(optimizer=opt, lr=3e-3, tol=1e-2, max_iter=30, generator=torch.Generator().manual_seed(seed))
        probe_loss = functools.partial(lambda loss, x, m: loss(m(x)), loss, x)
        both = probe_model(model, probe_loss, variants=("raw", "lr"), **kwargs)["lr"]
        assert both.eigenvalue == pytest.approx(dense, rel=1e-2)
        after_raw += both.hvps
        alone += probe_model(model, probe_loss, variants=("lr",), **kwargs)["lr"].hvps
    assert after_raw < 0.8 * alone, (after_raw, alone)


def test_sp_lr_variant_is_the_raw_operator_solved_once():
    torch.manual_seed(0)
    model = paramz.models.build("mlp", width=32, depth=1, d_in=8, d_out=4)
    paramz.parameterize(model, "sp", base_width=8)                    # every lr_mult is 1
    model.double()
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = torch.randint(4, (64,), generator=torch.Generator().manual_seed(6))
    loss = lambda out: F.cross_entropy(out, y)  # noqa: E731
    opt = train(model, x, loss, 3)
    probes = probe_model(model, lambda m: loss(m(x)), variants=("raw", "lr", "adam"), optimizer=opt, lr=3e-3,
                         tol=1e-5, max_iter=200, generator=torch.Generator().manual_seed(0))
    assert probes["lr"].eigenvalue == probes["raw"].eigenvalue and probes["lr"].hvps == 0 < probes["raw"].hvps
    assert probes["adam"].hvps > 0 and probes["adam"].eigenvalue != probes["raw"].eigenvalue
    dense = torch.linalg.eigvalsh(dense_hessian(model, loss, x))[-1].item()
    assert probes["lr"].eigenvalue == pytest.approx(dense, rel=1e-3)
    mup, x, loss = small_model("mlp", 0)                               # μP: lr is its own operator
    opt = train(mup, x, loss, 1)
    probes = probe_model(mup, lambda m: loss(m(x)), variants=("raw", "lr"), optimizer=opt, lr=3e-3)
    assert probes["lr"].hvps > 0 and probes["lr"].eigenvalue != probes["raw"].eigenvalue


def test_the_operator_a_variant_solves_follows_the_groups_lr_ratios():
    """``lr`` is ``raw`` exactly when every group's ratio is 1: SP anywhere, μP at its base width; off
    it μP's hidden and output groups have ratios below 1. Plain groups are read as lr / base_lr."""
    def opt_for(name, width):
        model = paramz.models.build("mlp", width=width, depth=2, d_in=8, d_out=4)
        paramz.parameterize(model, name, base_width=64)
        return paramz.make_optimizer(model, "adamw", lr=1e-3)

    assert [operator_of(v, opt_for("sp", 256)) for v in ("raw", "lr", "adam")] == ["raw", "raw", "adam"]
    assert operator_of("lr", opt_for("mup", 64)) == "raw" and operator_of("lr", opt_for("mup", 256)) == "lr"
    w1, w2 = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    plain = torch.optim.SGD([{"params": [w1], "lr": 0.1}, {"params": [w2], "lr": 0.05}], lr=0.1)
    assert operator_of("lr", plain, base_lr=0.1) == "lr" and operator_of("lr", plain, base_lr=0.05) == "lr"
    assert operator_of("lr", torch.optim.SGD([w1], lr=0.1), base_lr=0.1) == "raw"
    with pytest.raises(paramz.ConfigError, match="base_lr"):
        operator_of("lr", plain)
    with pytest.raises(paramz.ConfigError, match="variant"):
        operator_of("hessian", plain)


def test_lr_scale_comes_from_lr_mult_and_eos_thresholds():
    model, x, loss = small_model("mlp", 0)
    opt = train(model, x, loss, 1)
    d = {n: s.unique().tolist() for (n, _), s in zip(model.named_parameters(),
                                                     diagonal_scale(opt, "lr", list(model.parameters())))}
    assert d["hidden.0.weight"] == [0.25] and d["emb.weight"] == [1.0]
    assert paramz.sharpness.edge_of_stability(20.0, 0.1, "raw") == pytest.approx(1.0)
    assert paramz.sharpness.edge_of_stability(380.0, 0.1, "adam", beta1=0.9) == pytest.approx(1.0)  # 38/η


def test_warm_start_cuts_hvps_on_consecutive_probes():
    model, x, loss = small_model("mlp", 4)
    opt = paramz.make_optimizer(model, "adamw", lr=1e-3)
    cold, warm, previous = 0, 0, None
    for _ in range(6):
        opt.zero_grad()
        loss(model(x)).backward()
        opt.step()
        gen = torch.Generator().manual_seed(0)
        cold += probe_model(model, lambda m: loss(m(x)), generator=gen)["raw"].hvps
        res = probe_model(model, lambda m: loss(m(x)), warm=previous, generator=gen)["raw"]
        warm += res.hvps
        previous = {"raw": res.eigenvector}
    assert warm < 0.75 * cold, (warm, cold)


def test_a_kept_workspace_solves_bitwise_as_fresh_ones_and_moves_the_generator_alike():
    """A workspace keeps the random starts it drew, by generator state: a trial's probes restart one
    generator from its seed each time, and reusing a draw must change nothing, the generator included."""
    model, x, loss = small_model("mlp", 4)
    opt = paramz.make_optimizer(model, "adamw", lr=1e-3)
    dim = sum(p.numel() for p in model.parameters())
    kept = Workspace(dim, torch.float64)
    for _ in range(3):
        opt.zero_grad()
        loss(model(x)).backward()
        opt.step()
        runs = []
        for workspace in (kept, Workspace(dim, torch.float64), None):
            gen = torch.Generator().manual_seed(7)
            res = probe_model(model, lambda m: loss(m(x)), variants=("raw", "lr", "adam"), optimizer=opt, lr=1e-3,
                              generator=gen, workspace=workspace)
            runs.append(({v: (r.eigenvalue, r.residual, r.hvps) for v, r in res.items()},
                         {v: r.eigenvector for v, r in res.items()}, gen.get_state()))
        (values, vectors, state), *others = runs
        for other_values, other_vectors, other_state in others:
            assert other_values == values
            assert all(torch.equal(vectors[v], other_vectors[v]) for v in vectors)
            assert torch.equal(other_state, state)         # the generator moved on as if it had drawn
    assert len(kept.draws._kept) == 3                       # one start per operator, drawn once, reused
    other = torch.Generator().manual_seed(8)                 # another state: a new draw, not a kept one
    assert not torch.equal(kept.draws.draw(other), kept.draws.draw(torch.Generator().manual_seed(7)))


def test_operators_write_products_in_place_bitwise_as_a_plain_callable():
    """The HVP and its scaled variants write into Lanczos's rows (no allocation per product); the numbers
    must be the plain callable's, bit for bit, and a plain callable still works under `scaled`."""
    model, x, loss = small_model("mlp", 5)
    opt = train(model, x, loss, 3)
    params = list(model.parameters())
    hvp = hvp_operator(lambda: loss(model(x)), params)
    scale = diagonal_scale(opt, "adam", params)
    dim = sum(p.numel() for p in params)
    v = torch.randn(dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for op in (hvp, scaled(hvp, scale)):
        out = torch.full((dim,), float("nan"), dtype=torch.float64)
        assert op(v, out=out).data_ptr() == out.data_ptr()
        assert torch.equal(out, op(v))
    root = flatten(scale).sqrt()
    assert torch.equal(scaled(hvp, scale)(v), root * hvp(root * v))
    plain = scaled(lambda u: hvp(u), scale)          # not an Operator inside: same product
    assert torch.equal(plain(v), root * hvp(root * v))
    runs = [lanczos(op, dim, tol=1e-8, max_iter=40, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
            for op in (scaled(hvp, scale), lambda u: scaled(hvp, scale)(u))]
    assert runs[0].matvecs == runs[1].matvecs
    assert torch.equal(runs[0].eigenvalues, runs[1].eigenvalues) and torch.equal(runs[0].eigenvectors,
                                                                                  runs[1].eigenvectors)


def test_probe_uses_eval_mode_restores_it_and_leaves_grads_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 1))
    x, y = torch.randn(32, 6), torch.randn(32, 1)
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    model.train()
    a = probe_model(model, lambda m: F.mse_loss(m(x), y), tol=1e-6)["raw"]
    b = probe_model(model, lambda m: F.mse_loss(m(x), y), tol=1e-6)["raw"]
    assert model.training and a.mode == "eval"
    assert a.eigenvalue == pytest.approx(b.eigenvalue, rel=1e-5)  # dropout off: one function
    for p in model.parameters():
        assert p.grad.grad_fn is None and torch.equal(p.grad, torch.full_like(p, 7.0))


def test_bad_probe_input():
    model = nn.Linear(3, 1)
    with pytest.raises(paramz.ConfigError, match="variant: unknown value 'hessian'"):
        probe_model(model, lambda m: m(torch.ones(2, 3)).sum(), variants=("hessian",))
    with pytest.raises(paramz.ConfigError, match="optimizer: the 'lr' and 'adam' variants"):
        probe_model(model, lambda m: m(torch.ones(2, 3)).sum(), variants=("lr",))
    with pytest.raises(paramz.ConfigError, match="loss_fn: must return a scalar"):
        top_eigenvalue(lambda: model(torch.ones(2, 3)), list(model.parameters()))
    with pytest.raises(paramz.ConfigError, match="v0: has 3 entries, the operator acts on 4"):
        top_eigenvalue(lambda: model(torch.ones(2, 3)).pow(2).sum(), list(model.parameters()), v0=torch.ones(3))
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(paramz.ConfigError, match="'adam' needs Adam state"):
        diagonal_scale(opt, "adam", list(model.parameters()), base_lr=1e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_full_batch_gd_sharpens_to_the_edge_of_stability(seed):
    """Progressive sharpening (Cohen et al. 2021): η·λ_max/2 rises from well below 1 to 1 and stays."""
    torch.manual_seed(seed)
    model = paramz.models.build("mlp", width=64, depth=2, d_in=16, d_out=4)
    paramz.parameterize(model, "sp", base_width=64)
    x = torch.randn(128, 16, generator=torch.Generator().manual_seed(seed + 1))
    y = torch.randn(128, 4, generator=torch.Generator().manual_seed(seed + 2))
    loss_fn = lambda m: F.mse_loss(m(x), y)  # noqa: E731
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    ratios, warm = {}, None
    for step in range(2001):
        if step % 250 == 0:
            probe = probe_model(model, loss_fn, warm=warm, lr=lr)["raw"]
            warm = {"raw": probe.eigenvector}
            ratios[step] = probe.eos_ratio
        opt.zero_grad()
        loss_fn(model).backward()
        opt.step()
    assert ratios[0] < 0.3
    late = [r for s, r in ratios.items() if s >= 1000]
    assert all(0.9 < r < 1.1 for r in late), ratios


def test_a_model_calling_scaled_dot_product_attention_is_probed_against_the_dense_hessian():
    """Fused CPU attention kernels have no double backward; the probe runs them with the math kernel."""
    torch.manual_seed(0)

    class TinyAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.qkv, self.out = (torch.nn.Embedding(10, 8), torch.nn.Linear(8, 24, bias=False),
                                            torch.nn.Linear(8, 10, bias=False))

        def forward(self, idx):
            q, k, v = self.qkv(self.emb(idx)).view(idx.shape[0], idx.shape[1], 3, 2, 4).permute(2, 0, 3, 1, 4)
            h = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.out(h.transpose(1, 2).reshape(idx.shape[0], idx.shape[1], 8))

    model = TinyAttention().double()
    tok = torch.randint(10, (4, 7), generator=torch.Generator().manual_seed(1))
    loss = lambda out: F.cross_entropy(out.reshape(-1, 10), tok.reshape(-1))  # noqa: E731
    res = top_eigenvalue(lambda: loss(model(tok)), list(model.parameters()), tol=1e-6, max_iter=200)
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):  # the reference needs it too
        dense = torch.linalg.eigvalsh(dense_hessian(model, loss, tok))[-1].item()
    assert res.eigenvalue == pytest.approx(dense, rel=1e-4) and res.converged

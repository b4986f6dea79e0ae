"""Top eigenpairs of a symmetric operator given only as a matrix-vector product.

Lanczos with full reorthogonalisation. The basis is small (≤ ~100 vectors) but each vector is as
long as the model: at a million parameters, reorthogonalising vector by vector cost more than the
Hessian-vector products themselves (measured here), so the basis is kept as the rows of
preallocated blocks (`Workspace`) and projected out with matrix-vector products. Two traps of the
standalone tools are avoided on purpose:

* Stopping: on the residual ``‖Av − θv‖ ≤ tol·|θ|`` of every wanted Ritz pair, never on the relative
  change of θ between iterations (that rule under-reported λ_max by up to 4% here when the spectral
  gap was small). Since ``A·q_j`` is kept for every basis vector, the residual returned is the true
  one, ``‖(AQ)s − θ·Qs‖``, not the three-term estimate, and costs no extra product.
* Which end: the largest *algebraic* eigenvalues are returned, so a Hessian with negative
  eigenvalues of larger magnitude (common early in training) still reports its λ_max. Power
  iteration, kept as an option, converges to the largest |λ|; it is shifted when that is negative.

All arithmetic of the small tridiagonal problem is float64.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch

from paramz.errors import ConfigError

MatVec = Callable[[torch.Tensor], torch.Tensor]


class Operator:
    """A symmetric operator that can write its product into a given vector: ``op(v, out=row)``.

    Lanczos keeps ``A·q_j`` as a row of its workspace, so an operator that writes there directly saves an
    allocation (a fresh page per 4 KB on first touch) and a copy per product; a plain ``v ↦ A v``
    callable works too.
    """

    def __call__(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class EigenResult:
    """Top-k eigenpairs of a symmetric operator.

    Attributes:
        eigenvalues: ``(k,)`` float64, largest first.
        eigenvectors: ``(k, P)`` unit vectors (flattened parameter layout).
        residuals: ``(k,)`` ``‖Av − λv‖`` of each pair.
        iterations: Krylov dimension (Lanczos) or iterations (power) used.
        matvecs: number of operator products (HVPs), the cost that matters.
        converged: whether every residual met ``tol·|λ|``.
        method: ``lanczos`` or ``power``.
    """

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    residuals: torch.Tensor
    iterations: int
    matvecs: int
    converged: bool
    method: str

    @property
    def eigenvalue(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def eigenvector(self) -> torch.Tensor:
        return self.eigenvectors[0]


def _draw(dim: int, dtype: torch.dtype, generator: torch.Generator | None) -> torch.Tensor:
    rand = torch.randn(dim, dtype=dtype, generator=generator)
    return rand.div_(rand.norm())


def _start_vector(out: torch.Tensor, v0: torch.Tensor | None, generator: torch.Generator | None, warm_mix: float,
                  draws: _Draws | None = None) -> torch.Tensor:
    """Writes the unit start vector into ``out`` (a basis row) and returns it."""
    dim = out.numel()
    rand = draws.draw(generator) if draws is not None else _draw(dim, out.dtype, generator)
    if v0 is None:
        return out.copy_(rand)
    if v0.numel() != dim:
        raise ConfigError(f"v0: has {v0.numel()} entries, the operator acts on {dim}; pass the eigenvector "
                          "of a probe of the same parameters")
    out.copy_(v0.reshape(-1))
    # A little random direction keeps a new top eigenvector reachable when the old one is
    # (nearly) invariant: pure v0 would stop at once on a stale eigenvalue.
    out.mul_((1 - warm_mix) / float(out.norm())).add_(rand, alpha=warm_mix)
    return out.div_(out.norm())


def lanczos(matvec: MatVec, dim: int, *, k: int = 1, max_iter: int = 100, tol: float = 1e-4,
            v0: torch.Tensor | None = None, dtype: torch.dtype = torch.float32,
            generator: torch.Generator | None = None, warm_mix: float = 0.1,
            workspace: Workspace | None = None) -> EigenResult:
    """Largest algebraic eigenpairs by Lanczos with full reorthogonalisation.

    Args:
        matvec: ``v ↦ A v`` for a symmetric ``A`` acting on flat vectors of length ``dim``.
        dim: the dimension P.
        k: how many eigenpairs.
        max_iter: the largest Krylov dimension (capped at ``dim``).
        tol: stop when every wanted pair has ``‖Av − θv‖ ≤ tol·|θ|``.
        v0: warm start (e.g. the previous probe's top eigenvector).
        dtype: dtype of the basis vectors.
        generator: RNG of the random start.
        warm_mix: weight of the random direction mixed into ``v0``.
        workspace: memory for the Krylov basis, kept from an earlier solve of the same dimension
            (fresh pages cost a fault each on first touch: at a million parameters that was a tenth
            of a probe here).

    Returns:
        An `EigenResult`.

    Raises:
        ConfigError: k, max_iter or tol out of range, or v0 of the wrong size.
    """
    if not 1 <= k <= dim:
        raise ConfigError(f"k: must be between 1 and the dimension {dim}, got {k}")
    if max_iter < k:
        raise ConfigError(f"max_iter: must be at least k={k}, got {max_iter}")
    if not tol > 0:
        raise ConfigError(f"tol: must be positive, got {tol}")
    m_max = min(max_iter, dim)
    work = workspace if workspace is not None and (workspace.dim, workspace.dtype) == (dim, dtype) \
        else Workspace(dim, dtype)
    basis, products, w = work.start()     # q_0, q_1, ... ; A·q_j (for the exact residual at the end); scratch
    _start_vector(basis.next_row(), v0, generator, warm_mix, work.draws)
    alphas: list[float] = []
    betas: list[float] = []
    theta = s = torch.empty(0)  # set in the first iteration (m_max ≥ 1)
    converged = False
    for j in range(m_max):
        q = basis.row(j)
        aq = matvec(q, out=products.next_row()) if isinstance(matvec, Operator) \
            else products.append(matvec(q).reshape(-1))
        alphas.append(float(aq @ q))
        # the three-term recurrence, then full reorthogonalisation against every basis vector (each pass
        # over the vectors counts at a million parameters: w is written once, its norm taken once)
        torch.add(aq, q, alpha=-alphas[-1], out=w)
        if j > 0:
            w.sub_(basis.row(j - 1), alpha=betas[-1])
        beta = basis.orthogonalize(w)
        T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if j > 0:
            off = torch.tensor(betas, dtype=torch.float64)
            T += torch.diag(off, 1) + torch.diag(off, -1)
        evals, evecs = torch.linalg.eigh(T)
        order = torch.argsort(evals, descending=True)[:k]
        theta, s = evals[order], evecs[:, order]
        if j + 1 >= k:
            # three-term estimate |β_j·s_last| gates the (exact) residual computation
            estimate = (beta * s[-1].abs())
            if bool((estimate <= tol * theta.abs().clamp_min(1e-30)).all()) or beta < 1e-10 * max(1.0, abs(alphas[-1])):
                converged = True
                break
        if j + 1 == m_max:
            break
        betas.append(beta)
        torch.div(w, beta, out=basis.next_row())
    # Ritz vectors Qs and their exact residuals (AQ)s − θ·Qs.
    coef = s.to(dtype).T
    vecs, avecs = basis.combine(coef), products.combine(coef)
    residuals = (avecs - theta.to(dtype)[:, None] * vecs).norm(dim=1).to(torch.float64)
    met = bool((residuals <= tol * theta.abs().clamp_min(1e-30) * 1.01).all())
    converged = met or (converged and len(products) == dim)
    return EigenResult(theta, vecs, residuals, len(products), len(products), converged, "lanczos")


class Workspace:
    """The memory of a Lanczos solve (basis, products, a scratch vector), reusable by later solves of
    the same dimension and dtype: a trial keeps one across its probes."""

    def __init__(self, dim: int, dtype: torch.dtype = torch.float32) -> None:
        self.dim, self.dtype = dim, dtype
        self.basis, self.products = _Rows(dim, dtype), _Rows(dim, dtype)
        self.scratch = torch.empty(dim, dtype=dtype)
        self.draws = _Draws(dim, dtype)

    def start(self) -> tuple[_Rows, _Rows, torch.Tensor]:
        """Empties the rows (their memory stays) and hands them out with the scratch vector."""
        self.basis.n = self.products.n = 0
        return self.basis, self.products, self.scratch


class _Draws:
    """The random unit directions a workspace's solves started from, by the generator state they came from.

    A trial restarts one generator from its seed at every probe, so its solves draw the same few
    directions again and again; drawing two million normals cost ~20 ms here, a tenth of a warm probe.
    Each is kept with the generator's state before and after the draw, and handing one out moves the
    generator on exactly as drawing it would: the solves are bitwise the same as without the cache.
    """

    KEPT = 3   # one per operator a probe solves (raw, lr, adam)

    def __init__(self, dim: int, dtype: torch.dtype) -> None:
        self.dim, self.dtype = dim, dtype
        self._kept: OrderedDict[bytes, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    def draw(self, generator: torch.Generator | None) -> torch.Tensor:
        """The next unit direction of ``generator`` (None: torch's global RNG, which is not kept)."""
        if generator is None:
            return _draw(self.dim, self.dtype, None)
        key = generator.get_state().numpy().tobytes()
        if key in self._kept:
            self._kept.move_to_end(key)
            vector, after = self._kept[key]
            generator.set_state(after)
            return vector
        vector = _draw(self.dim, self.dtype, generator)
        self._kept[key] = (vector, generator.get_state())
        while len(self._kept) > self.KEPT:
            self._kept.popitem(last=False)
        return vector


class _Rows:
    """Vectors kept as the rows of preallocated blocks, so that projections are matrix-vector products.

    A Krylov basis of m vectors costs m dot products and m updates per reorthogonalisation when kept
    as a list: at a million parameters that bookkeeping cost more than the Hessian-vector products
    themselves (measured here). As the rows of a few blocks it is two matrix-vector products per
    block, and nothing is restacked as the basis grows.
    """

    BLOCK = 8

    def __init__(self, dim: int, dtype: torch.dtype) -> None:
        self.dim, self.dtype = dim, dtype
        self.blocks: list[torch.Tensor] = []
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def next_row(self) -> torch.Tensor:
        """The next row, uninitialised, now counted in the rows."""
        if self.n == len(self.blocks) * self.BLOCK:
            self.blocks.append(torch.empty(self.BLOCK, self.dim, dtype=self.dtype))
        row = self.row(self.n)
        self.n += 1
        return row

    def append(self, vector: torch.Tensor) -> torch.Tensor:
        """Stores a copy of ``vector`` as the next row and returns that row."""
        return self.next_row().copy_(vector)

    def row(self, i: int) -> torch.Tensor:
        return self.blocks[i // self.BLOCK][i % self.BLOCK]

    def _filled(self) -> list[torch.Tensor]:
        full, rest = divmod(self.n, self.BLOCK)
        return self.blocks[:full] + ([self.blocks[full][:rest]] if rest else [])

    def orthogonalize(self, w: torch.Tensor) -> float:
        """Removes from ``w`` (in place) its components along every row and returns its norm after:
        classical Gram-Schmidt, with a second pass when the first removed much
        (Daniel-Gragg-Kaufman-Stewart: ‖w‖ fell below 1/√2 of what it was), which with the three-term
        recurrence done first is rare."""
        norm = float(w.norm())
        for _ in range(2):
            before = norm
            for block in self._filled():
                w.addmv_(block.T, block @ w, alpha=-1)
            norm = float(w.norm())
            if norm >= 0.7071 * before:
                break
        return norm

    def combine(self, coef: torch.Tensor) -> torch.Tensor:
        """``coef @ rows``: one combination of the rows per row of ``coef`` (shape ``(r, n)``)."""
        out = torch.zeros(coef.shape[0], self.dim, dtype=self.dtype)
        start = 0
        for block in self._filled():
            out.addmm_(coef[:, start:start + len(block)], block)
            start += len(block)
        return out


def power_iteration(matvec: MatVec, dim: int, *, max_iter: int = 500, tol: float = 1e-4,
                    v0: torch.Tensor | None = None, dtype: torch.dtype = torch.float32,
                    generator: torch.Generator | None = None, warm_mix: float = 0.1) -> EigenResult:
    """Largest algebraic eigenpair by power iteration, shifted when the dominant |λ| is negative.

    Slower than Lanczos (11–130 products against 6–18 for 1e-3 accuracy, measured here); kept as a
    cross-check and a fallback. Stops on the residual, like `lanczos`.

    Args and Returns: as `lanczos` with ``k = 1``.
    """
    if not tol > 0:
        raise ConfigError(f"tol: must be positive, got {tol}")
    v = _start_vector(torch.empty(dim, dtype=dtype), v0, generator, warm_mix)
    shift, matvecs, theta, res, it = 0.0, 0, 0.0, float("inf"), 0
    for _ in range(2):  # second pass only if the dominant eigenvalue was negative
        for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported after the loop
            av = matvec(v).reshape(-1).to(dtype)
            matvecs += 1
            theta = float(v @ av)
            res = float((av - theta * v).norm())
            if res <= tol * max(abs(theta), 1e-30):
                break
            w = av - shift * v
            v = w / w.norm()
        if theta >= 0 or shift != 0.0:
            break
        shift = theta  # A − θI has λ_max − θ ≥ 0 as its dominant eigenvalue
        v = _start_vector(torch.empty(dim, dtype=dtype), None, generator, warm_mix)
    return EigenResult(torch.tensor([theta], dtype=torch.float64), v[None], torch.tensor([res], dtype=torch.float64),
                       it, matvecs, res <= tol * max(abs(theta), 1e-30), "power")

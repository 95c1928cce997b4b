"""Random initialization: new rows drawn from the source embeddings' distribution (baseline)."""

from __future__ import annotations

import torch

COV_ROWS = 32768  # rows used to estimate the covariance: plenty for d ≤ 8192, bounded cost at 128k tokens


def sample_like(old: torch.Tensor, n: int, distribution: str, seed: int) -> torch.Tensor:
    """n rows from N(mean, Σ) of `old` ('normal': full covariance, 'normal_diag': per-dimension std)."""
    gen = torch.Generator().manual_seed(seed)
    x = old.detach().to(torch.float32)
    mean = x.mean(0)
    if distribution == "normal_diag":
        return (mean + torch.randn((n, x.shape[1]), generator=gen) * x.std(0)).to(old.dtype)
    if len(x) > COV_ROWS:
        x = x[torch.randperm(len(x), generator=gen)[:COV_ROWS]]
    centred = x - x.mean(0)
    cov = (centred.T @ centred).to(torch.float64) / max(len(x) - 1, 1)  # float32 product, centred: exact enough
    cov.diagonal().add_(1e-6 * cov.diagonal().mean().clamp_min(1e-12))
    chol = torch.linalg.cholesky(cov).to(torch.float32)
    zt = torch.randn((x.shape[1], n), generator=gen)
    return lower_times(chol, zt).T.add_(mean).to(old.dtype)


def lower_times(L: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """L @ z for lower-triangular L, skipping its zero upper-right block (3/4 of the work)."""
    h = L.shape[0] // 2
    out = torch.empty((L.shape[0], z.shape[1]), dtype=z.dtype)
    torch.mm(L[:h, :h], z[:h], out=out[:h])
    torch.mm(L[h:], z, out=out[h:])
    return out


def init(old_in, old_out, overlap, aux=None, distribution: str = "normal", seed: int = 0, **_):
    """Common transfer signature. Only rows that are neither shared nor special are drawn (the
    caller copies the others)."""
    from .combine import new_rows, uncopied

    todo = uncopied(overlap)

    def fill(j, old, rows):
        rows[todo] = sample_like(old, len(todo), distribution, seed + j)

    return new_rows(old_in, old_out, overlap, fill)

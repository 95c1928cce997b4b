"""Random initialization: new rows drawn from the source embeddings' distribution (baseline)."""

from __future__ import annotations

import torch

COV_ROWS = 32768  # rows used to estimate the covariance: plenty for d ≤ 8192, bounded cost at 128k tokens


def sample_like(old: torch.Tensor, n: int, distribution: str, seed: int) -> torch.Tensor:
    """n rows from N(mean, Σ) of `old` ('normal': full covariance, 'normal_diag': per-dimension std)."""
    gen = torch.Generator().manual_seed(seed)
    x = old.detach().to(torch.float32)
    mean = x.mean(0)
    z = torch.randn((n, x.shape[1]), generator=gen)
    if distribution == "normal_diag":
        return (mean + z * x.std(0)).to(old.dtype)
    if len(x) > COV_ROWS:
        x = x[torch.randperm(len(x), generator=gen)[:COV_ROWS]]
    centred = (x - mean).to(torch.float64)
    cov = centred.T @ centred / max(len(x) - 1, 1)
    cov.diagonal().add_(1e-8 * cov.diagonal().mean().clamp_min(1e-12))
    chol = torch.linalg.cholesky(cov).to(torch.float32)
    return (mean + z @ chol.T).to(old.dtype)


def init(old_in, old_out, overlap, aux=None, distribution: str = "normal", seed: int = 0, **_):
    """Common transfer signature. Only rows that are not shared are drawn (the caller copies the
    shared ones); shared rows start at the mean."""
    n = overlap["new_size"]
    shared = torch.zeros(n, dtype=torch.bool)
    pairs = torch.as_tensor(overlap["shared"] + overlap.get("specials", []), dtype=torch.int64).reshape(-1, 2)
    shared[pairs[:, 0]] = True
    todo = torch.nonzero(~shared).squeeze(1)
    out = []
    for j, old in enumerate((old_in, old_out)):
        if old is None:
            out.append(None)
            continue
        rows = old.detach().mean(0, keepdim=True).repeat(n, 1)
        rows[todo] = sample_like(old, len(todo), distribution, seed + j)
        out.append(rows)
    return tuple(out)

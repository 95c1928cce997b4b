"""Random initialization: new rows drawn from the source embeddings' distribution (baseline)."""

from __future__ import annotations

import torch


def sample_like(old: torch.Tensor, n: int, distribution: str, seed: int) -> torch.Tensor:
    """n rows from N(mean, Σ) of `old` ('normal': full covariance, 'normal_diag': per-dimension std)."""
    gen = torch.Generator().manual_seed(seed)
    x = old.detach().to(torch.float64)
    mean = x.mean(0)
    z = torch.randn((n, x.shape[1]), generator=gen, dtype=torch.float64)
    if distribution == "normal_diag":
        return (mean + z * x.std(0)).to(old.dtype)
    centred = x - mean
    cov = centred.T @ centred / max(len(x) - 1, 1)
    cov.diagonal().add_(1e-8 * cov.diagonal().mean().clamp_min(1e-12))
    return (mean + z @ torch.linalg.cholesky(cov).T).to(old.dtype)


def init(old_in, old_out, overlap, aux=None, distribution: str = "normal", seed: int = 0, **_):
    """Common transfer signature; shared rows are overwritten by the caller's copy."""
    n = overlap["new_size"]
    return (sample_like(old_in, n, distribution, seed),
            None if old_out is None else sample_like(old_out, n, distribution, seed + 1))

"""Orthogonal matching pursuit (OMP; mergekit's tokensurgeon default, "Training-Free Tokenizer
Transplantation via Orthogonal Matching Pursuit", arXiv:2506.06607).

As LET and SALT, the new vocabulary is a target-language PLM's. Each PLM-only token t is written
as a sparse combination of shared tokens in the PLM's space, P[t] ≈ Σ_{j∈S} α_j · P[j] with |S| ≤ k,
chosen greedily: the shared token most correlated with what is left, then a least-squares refit
on all chosen, k times or until nothing is left. The same coefficients combine the LLM's rows of
those shared tokens, input and output embeddings alike: E_new[t] = Σ α_j · E[j].

The greedy search runs over a pool: the `pool` shared tokens most cosine-similar to t in absolute
value (the first pick is always among them; exact OMP when the pool holds every shared token).
Batched over tokens with no loop per token: the pool's Gram matrix once per token (one batched
matrix product), then per step one argmax over the pool and a batched (s × s) solve.
"""

from __future__ import annotations

import torch

from langadapt.transfer.combine import cosine_topk, new_rows, uncopied, weighted_rows
from langadapt.transfer.let import plm_rows, shared_rows


def pursue(query: torch.Tensor, atoms: torch.Tensor, pool: torch.Tensor, k: int, tol: float = 1e-6,
           budget: int = 1 << 24) -> tuple[torch.Tensor, torch.Tensor]:
    """(coefficients, atom indices), each len(query) × k: query[b] ≈ Σ_s coef[b, s] · atoms[idx[b, s]],
    the atoms picked from the rows of `atoms` that pool[b] names. A token stops once no atom of its
    pool is correlated with what is left by more than `tol` of its norm (its later coefficients are 0)."""
    k = min(k, pool.shape[1])
    norms = atoms.float().norm(dim=1).clamp_min(1e-12)
    unit = atoms.float() / norms[:, None]                     # unit atoms, once for every batch
    coef = torch.zeros((len(query), k), dtype=torch.float64)
    chosen = torch.zeros((len(query), k), dtype=torch.int64)
    batch = max(1, budget // (pool.shape[1] * (atoms.shape[1] + 4 * pool.shape[1])))
    for i in range(0, len(query), batch):
        coef[i:i + batch], chosen[i:i + batch] = _pursue_batch(query[i:i + batch], unit, pool[i:i + batch], k, tol)
    return coef / norms.double()[chosen], chosen


def _pursue_batch(q, unit, pool, k, tol):
    """pursue() for one batch of queries, on unit atoms: (coefficients, atom indices)."""
    B, M = pool.shape
    rows = torch.arange(B)
    X = unit[pool]                                            # B × M × d
    c0 = torch.bmm(X, q.float()[:, :, None]).squeeze(2).double()  # their correlations with the query
    gram = torch.bmm(X, X.transpose(1, 2)).double()           # once per token; the steps only index it
    del X
    q_norm = q.double().norm(dim=1)
    picks = torch.zeros((B, k), dtype=torch.int64)
    chol = torch.zeros((B, k, k), dtype=torch.float64)        # Cholesky factor of the picks' Gram, grown a row a step
    rhs = torch.zeros((B, k, 1), dtype=torch.float64)
    cols = torch.zeros((B, k, M), dtype=torch.float64)        # the picks' rows of the Gram
    live = q_norm > 0
    c = c0.clone()
    for s in range(k):
        score = c.abs()
        score.scatter_(1, picks[:, :s], -1.0)                 # never the same atom twice
        best, j = score.max(1)
        live &= best > tol * q_norm                           # nothing left that the pool explains
        picks[:, s] = j
        cols[:, s] = gram[rows, j]
        g = cols[:, :s].gather(2, j[:, None, None].expand(B, s, 1)).squeeze(2)  # the new atom against earlier picks
        w = torch.linalg.solve_triangular(chol[:, :s, :s], g[:, :, None], upper=False).squeeze(2)
        w[~live] = 0
        chol[:, s, :s] = w
        chol[:, s, s] = torch.where(live, (gram[rows, j, j] - (w * w).sum(1)).clamp_min(1e-12).sqrt(), 1.0)
        rhs[:, s, 0] = torch.where(live, c0[rows, j], 0.0)    # a stopped token's later slots solve to 0
        alpha = torch.cholesky_solve(rhs[:, :s + 1], chol[:, :s + 1, :s + 1]).squeeze(2)
        c = c0 - torch.bmm(alpha[:, None, :], cols[:, :s + 1]).squeeze(1)
    return alpha, pool.gather(1, picks)


def init(old_in, old_out, overlap, aux=None, k: int = 64, pool: int = 256, **_):
    """Common transfer signature: (input rows, output rows or None) for the PLM's vocabulary. The
    coefficients come from the PLM's input embeddings and serve both matrices."""
    new_ids, old_ids = shared_rows(overlap)
    P = plm_rows(aux, "in")
    todo = uncopied(overlap)
    _, candidates = cosine_topk(P[todo], P[new_ids], max(k, pool), absolute=True)
    coef, idx = pursue(P[todo], P[new_ids], candidates, k)

    def fill(j, old, rows):
        rows[todo] = weighted_rows(coef, old_ids[idx], old).to(old.dtype)

    return new_rows(old_in, old_out, overlap, fill)

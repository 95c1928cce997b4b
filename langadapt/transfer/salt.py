"""Semantic-aware linear transfer (SALT; Semantic Aware Linear Transfer by Recycling Pre-trained Language Models
for Cross-lingual Transfer, arXiv:2505.10945).

As LET, but every PLM-only token gets its own regression, fitted on the `k` shared tokens
most similar to it in PLM space (cosine). The per-token ridge regressions are solved in
their dual form, batched: for a token p with neighbour rows X (k × d_p) and targets Y,
`e = Yᵀ (X Xᵀ + λI)⁻¹ X p`, which equals `p·W` with `W` the local ridge solution but needs only
a k × k solve per token, so no d_p × d map is ever formed and there is no loop per token.
"""

from __future__ import annotations

import torch

from langadapt.transfer.combine import uncopied, weighted_rows
from langadapt.transfer.let import per_matrix, plm_rows, shared_rows


def neighbours(query: torch.Tensor, keys: torch.Tensor, k: int, batch: int = 4096) -> torch.Tensor:
    """Indices of the k most cosine-similar rows of `keys` for each row of `query`."""
    qn = torch.nn.functional.normalize(query.float(), dim=1)
    kn = torch.nn.functional.normalize(keys.float(), dim=1)
    k = min(k, keys.shape[0])
    return torch.cat([(qn[i:i + batch] @ kn.T).topk(k, dim=1).indices for i in range(0, len(qn), batch)])


def local_weights(query: torch.Tensor, X: torch.Tensor, idx: torch.Tensor, ridge: float,
                  budget: int = 1 << 25) -> torch.Tensor:
    """alpha[b] = (X_b X_bᵀ + λ_b I)⁻¹ X_b q_b with X_b = X[idx[b]], in float64: the dual form of a
    ridge regression on the k neighbours, so that q_b · W_b = alpha[b] · Y[idx[b]] for any targets Y."""
    alpha = torch.empty(idx.shape, dtype=torch.float64)
    Xd, Qd = X.to(torch.float64), query.to(torch.float64)
    k = idx.shape[1]
    batch = max(1, budget // (k * (k + X.shape[1])))  # neighbours and gram of a batch: ~256 MB of float64
    for i in range(0, len(query), batch):
        xb = Xd[idx[i:i + batch]]                         # B × k × d_p
        gram = xb @ xb.transpose(1, 2)                    # B × k × k
        scale = gram.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-12)
        gram.diagonal(dim1=1, dim2=2).add_((ridge * scale)[:, None])
        rhs = xb @ Qd[i:i + batch, :, None]               # B × k × 1
        alpha[i:i + batch] = torch.linalg.solve(gram, rhs).squeeze(2)
    return alpha


def init(old_in, old_out, overlap, aux=None, k: int = 64, ridge: float = 1.0, **_):
    """Common transfer signature: (input rows, output rows or None) for the PLM's vocabulary.

    `ridge` is relative to the mean squared norm of the neighbours, so it is scale-free. The
    regression weights depend on the PLM rows only, so a tied PLM solves them once for both matrices.
    """
    new_ids, old_ids = shared_rows(overlap)
    P_in = plm_rows(aux, "in")
    todo = uncopied(overlap)
    idx = neighbours(P_in[todo], P_in[new_ids], k)
    solved = {}

    def fit(P, todo, old):
        if id(P) not in solved:
            solved[id(P)] = local_weights(P[todo], P[new_ids], idx, ridge)
        return weighted_rows(solved[id(P)], old_ids[idx], old)

    return per_matrix(old_in, old_out, aux, overlap, fit)

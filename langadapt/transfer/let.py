"""Linear embedding transfer from a target-language PLM (LET; Linearized Embedding Transfer in
Multilingual Large Language Model, Lee & Hur — no arXiv version).

The new vocabulary is the PLM's. One linear map W from PLM embedding space to LLM space is
fitted on the tokens both vocabularies share, `W = argmin ||P[C]·W - E[C]||²` (+ ridge), and
applied to every PLM-only token: `E_new[t] = P[t]·W`. Dimensions may differ.
"""

from __future__ import annotations

import torch

from langadapt.core.errors import LangadaptError
from langadapt.transfer.combine import new_rows, uncopied


def shared_rows(overlap: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(new ids, old ids) of ordinary tokens both vocabularies share (special tokens excluded)."""
    pairs = torch.as_tensor(overlap["shared"], dtype=torch.int64).reshape(-1, 2)
    if len(pairs) == 0:
        raise LangadaptError("the PLM and LLM vocabularies share no tokens: there is nothing to fit the map on")
    return pairs[:, 0], pairs[:, 1]


def fit_linear_map(X: torch.Tensor, Y: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """W (d_x × d_y) minimising ||X·W - Y||² + ridge·n·||W||², in float64.

    Solved by the normal equations (one d_x × d_x Cholesky: seconds at 128k × 4096); when X is
    rank-deficient or too ill-conditioned for them, by an SVD least squares (minimum norm)."""
    X, Y = X.to(torch.float64), Y.to(torch.float64)
    gram = X.T @ X
    if ridge > 0:
        gram.diagonal().add_(ridge * X.shape[0])
    chol, info = torch.linalg.cholesky_ex(gram)
    diag = chol.diagonal().abs()
    if info == 0 and diag.min() > 1e-6 * diag.max():  # cond(gram) ≲ 1e12: relative error ≲ 1e-4
        return torch.cholesky_solve(X.T @ Y, chol)
    if ridge > 0:
        return torch.linalg.solve(gram, X.T @ Y)
    return torch.linalg.lstsq(X, Y, driver="gelsd").solution


def apply_map(P: torch.Tensor, W: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """P·W in the embeddings' precision (at least float32): the fit needs float64, the product not."""
    dtype = torch.promote_types(like.dtype, torch.float32)
    return P.to(dtype) @ W.to(dtype)


def plm_rows(aux: dict | None, which: str) -> torch.Tensor:
    if not aux or "plm_in" not in aux:
        raise LangadaptError("this transfer method needs the target-language PLM's embeddings (transfer.plm)")
    return aux["plm_out"] if which == "out" and aux.get("plm_out") is not None else aux["plm_in"]


def per_matrix(old_in, old_out, aux, overlap, fn):
    """For each matrix: rows of the uncopied new tokens = fn(PLM rows, their ids, old rows)."""
    todo = uncopied(overlap)

    def fill(j, old, rows):
        rows[todo] = fn(plm_rows(aux, ("in", "out")[j]), todo, old).to(old.dtype)

    return new_rows(old_in, old_out, overlap, fill)


def init(old_in, old_out, overlap, aux=None, ridge: float = 0.0, **_):
    """Common transfer signature: (input rows, output rows or None) for the PLM's vocabulary."""
    new_ids, old_ids = shared_rows(overlap)
    return per_matrix(old_in, old_out, aux, overlap,
                      lambda P, todo, old: apply_map(P[todo], fit_linear_map(P[new_ids], old[old_ids], ridge), old))

"""Linear embedding transfer from a target-language PLM (LET; seed 001).

The new vocabulary is the PLM's. One linear map W from PLM embedding space to LLM space is
fitted on the tokens both vocabularies share, `W = argmin ||P[C]·W - E[C]||²` (+ ridge), and
applied to every PLM-only token: `E_new[t] = P[t]·W`. Dimensions may differ.
"""

from __future__ import annotations

import torch

from ..errors import LangadaptError


def shared_rows(overlap: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(new ids, old ids) of ordinary tokens both vocabularies share (special tokens excluded)."""
    pairs = torch.as_tensor(overlap["shared"], dtype=torch.int64).reshape(-1, 2)
    if len(pairs) == 0:
        raise LangadaptError("the PLM and LLM vocabularies share no tokens: there is nothing to fit the map on")
    return pairs[:, 0], pairs[:, 1]


def fit_linear_map(X: torch.Tensor, Y: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
    """W (d_x × d_y) minimising ||X·W - Y||² + ridge·n·||W||², in float64.

    With ridge 0 this is ordinary least squares (minimum norm when X is rank-deficient)."""
    X, Y = X.to(torch.float64), Y.to(torch.float64)
    if ridge > 0:
        gram = X.T @ X
        gram.diagonal().add_(ridge * X.shape[0])
        return torch.linalg.solve(gram, X.T @ Y)
    return torch.linalg.lstsq(X, Y, driver="gelsd").solution


def plm_rows(aux: dict | None, which: str) -> torch.Tensor:
    if not aux or "plm_in" not in aux:
        raise LangadaptError("this transfer method needs the target-language PLM's embeddings (transfer.plm)")
    return aux["plm_out"] if which == "out" and aux.get("plm_out") is not None else aux["plm_in"]


def per_matrix(old_in, old_out, aux, fn):
    """(fn(PLM input rows, old input rows), fn(PLM output rows, old output rows) or None)."""
    return tuple(None if old is None else fn(plm_rows(aux, which), old).to(old.dtype)
                 for which, old in (("in", old_in), ("out", old_out)))


def init(old_in, old_out, overlap, aux=None, ridge: float = 0.0, **_):
    """Common transfer signature: (input rows, output rows or None) for the PLM's vocabulary."""
    new_ids, old_ids = shared_rows(overlap)
    return per_matrix(old_in, old_out, aux,
                      lambda P, old: P.to(torch.float64) @ fit_linear_map(P[new_ids], old[old_ids], ridge))

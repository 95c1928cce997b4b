"""FOCUS (Dobler & de Melo, arXiv:2305.14481): each new token is a sparsemax-weighted combination of the
shared tokens' source rows, weights from cosine similarity in an auxiliary static embedding
space (fastText trained on target text tokenized with the new tokenizer; `aux["focus"]`)."""

from __future__ import annotations

import torch

from langadapt.core.errors import LangadaptError
from langadapt.transfer.combine import mix_rows, sparsemax_topk, uncopied


def init(old_in, old_out, overlap, aux=None, k: int = 64, seed: int = 0, **_):
    """Common transfer signature. Tokens without an auxiliary vector (unseen by fastText) are
    drawn from the source rows' per-dimension normal, as the reference does."""
    if not aux or "focus" not in aux:
        raise LangadaptError("focus needs auxiliary token vectors (the focus_vectors rule)")
    vec = torch.as_tensor(aux["focus"], dtype=torch.float32)
    pairs = torch.as_tensor(overlap["shared"], dtype=torch.int64).reshape(-1, 2)
    if len(pairs) == 0:
        raise LangadaptError("focus: the vocabularies share no tokens to combine")
    new_ids, old_ids = pairs[:, 0], pairs[:, 1]
    has_vec = vec.abs().sum(1) > 0
    keys = new_ids[has_vec[new_ids]]
    key_old = old_ids[has_vec[new_ids]]
    todo = uncopied(overlap)
    query = todo[has_vec[todo]]
    w, idx = sparsemax_topk(vec[query], vec[keys], k)
    return mix_rows(old_in, old_out, overlap, query, w, idx, key_old, seed)

"""WECHSEL (Minixhofer et al., arXiv:2112.06598): source and target static embeddings aligned with a
bilingual dictionary (Procrustes); each new token is a softmax(similarity / temperature)
mix of the source rows of its k nearest source tokens in the aligned space
(`aux["source"]`, `aux["target"]`: one aligned vector per source / new token)."""

from __future__ import annotations

import torch

from langadapt.core.errors import LangadaptError
from langadapt.transfer.combine import cosine_topk, mix_rows, uncopied


def init(old_in, old_out, overlap, aux=None, k: int = 10, temperature: float = 0.1, seed: int = 0, **_):
    """Common transfer signature. Tokens without a vector are drawn from the source rows'
    per-dimension normal."""
    if not aux or "source" not in aux or "target" not in aux:
        raise LangadaptError("wechsel needs aligned source and target token vectors (the wechsel_vectors rule)")
    src = torch.as_tensor(aux["source"], dtype=torch.float32)
    tgt = torch.as_tensor(aux["target"], dtype=torch.float32)
    if src.shape[0] != old_in.shape[0]:
        raise LangadaptError(f"wechsel: {src.shape[0]} source token vectors for a {old_in.shape[0]}-row model")
    src_ok = torch.nonzero(src.abs().sum(1) > 0).squeeze(1)
    todo = uncopied(overlap)
    query = todo[tgt[todo].abs().sum(1) > 0]
    sims, idx = cosine_topk(tgt[query], src[src_ok], k)
    w = torch.softmax(sims.to(torch.float64) / temperature, dim=1)
    return mix_rows(old_in, old_out, overlap, query, w, idx, src_ok, seed)

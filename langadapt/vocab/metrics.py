"""How a tokenizer reads text: characters per token, fertility (tokens per word), round trip."""

from __future__ import annotations

import numpy as np


def tokenization_metrics(tokenizer, docs: list[str]) -> dict:
    """Characters per token, fertility (tokens per word) and round-trip rate on documents."""
    if not docs:
        return {"chars_per_token": float("nan"), "tokens_per_word": float("nan"), "roundtrip": float("nan")}
    ids = tokenizer(docs, add_special_tokens=False)["input_ids"]
    n_tok = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    n_chr = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    n_wrd = np.fromiter((len(d.split()) for d in docs), dtype=np.int64, count=len(docs))
    decoded = tokenizer.batch_decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    same = np.fromiter((a == b for a, b in zip(decoded, docs)), dtype=bool, count=len(docs))
    return {
        "chars_per_token": float(n_chr.sum() / max(n_tok.sum(), 1)),
        "tokens_per_word": float(n_tok.sum() / max(n_wrd.sum(), 1)),
        "roundtrip": float(same.mean()),
        "tokens": int(n_tok.sum()),
        "characters": int(n_chr.sum()),
    }

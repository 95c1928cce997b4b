"""Our inputs through the reference implementations (PyPI `deepfocus`, `wechsel`), to check
that FOCUS and WECHSEL here compute what the authors' code computes, and how much faster.

Both packages are called at the step that turns auxiliary vectors into embedding rows; their
own fastText training and vocabulary matching are left out, so both sides see equal input.
"""

from __future__ import annotations

import numpy as np
import torch
from deepfocus.focus import focus_additional_token_initialization
from deepfocus.vocab_helper import NewToken, OverlappingToken, TokenClass
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast
from wechsel import create_target_embeddings


def _token(i: int, prefix: str):
    s = f"{prefix}{i}"
    return TokenClass(native_form=s, id=i, canonical_form=s, fuzzy_form=s, uncased_form=s, no_whitespace_form=s,
                      is_beginning_of_word=False)


def focus_reference(old: torch.Tensor, overlap: dict, vectors: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """deepfocus's FOCUS step on our overlap and auxiliary vectors: (rows, ids of new tokens it set)."""
    has_vec = np.abs(vectors).sum(1) > 0
    shared = {int(n): int(o) for n, o in overlap["shared"]}
    overlapping = {f"t{n}": OverlappingToken(source=[_token(o, "s")], target=_token(n, "t"), source_embedding=old[o],
                                             auxiliary_embedding=vectors[n])
                   for n, o in shared.items() if has_vec[n]}
    new_ids = np.array([t for t in range(len(vectors)) if t not in shared and has_vec[t]])
    new = {f"t{t}": NewToken(target=_token(int(t), "t"), auxiliary_embedding=vectors[t]) for t in new_ids}
    rows = torch.zeros((len(vectors), old.shape[1]), dtype=old.dtype)
    return focus_additional_token_initialization(overlapping, new, rows), new_ids


def _word_tokenizer(n: int, prefix: str):
    vocab = {f"{prefix}{i}": i for i in range(n)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token=f"{prefix}0")))


def wechsel_reference(old: torch.Tensor, source_vectors: np.ndarray, target_vectors: np.ndarray, k: int,
                      temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """wechsel's create_target_embeddings on our aligned vectors: (rows, ids of tokens it matched).

    Unlike langadapt, the reference recomputes tokens that both vocabularies share too; compare
    the others."""
    rows, _, _ = create_target_embeddings(source_vectors, target_vectors, _word_tokenizer(len(source_vectors), "s"),
                                          _word_tokenizer(len(target_vectors), "t"), old.numpy(), neighbors=k,
                                          temperature=temperature, verbose=False)
    return rows, np.nonzero(np.abs(target_vectors).sum(1) > 0)[0]


def rowwise_cosine(a, b) -> np.ndarray:
    a, b = (torch.as_tensor(np.asarray(x), dtype=torch.float64) for x in (a, b))
    return torch.nn.functional.cosine_similarity(a, b, dim=1).numpy()

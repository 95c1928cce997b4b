"""Embedding transfer: rows for a new vocabulary, one module per method, one signature.

Every method is `init(old_in, old_out, overlap, aux=None, **params) -> (new_in, new_out)`;
`old_in`/`old_out` hold one row per source token: rows a model pads past its tokenizer are never
read, and the new model has exactly one row per token of its new tokenizer;
`aux` holds what a method needs beyond the source rows (PLM rows for let/salt, auxiliary
token vectors for focus/wechsel). Tokens shared by both vocabularies (and special tokens
matched by role) are then copied bit for bit, whatever the method.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir
from langadapt.models.io import embedding_matrices, load_tokenizer, set_embeddings
from langadapt.models.weights import Embeddings, write_model
from langadapt.transfer.registry import METHODS, get_method
from langadapt.transfer.vectors import load_aux
from langadapt.vocab.overlap import load_overlap

log = logging.getLogger(__name__)


def copy_shared(new: torch.Tensor, old: torch.Tensor, overlap: dict) -> torch.Tensor:
    """Shared and special tokens keep their source rows exactly."""
    pairs = np.asarray(overlap["shared"] + overlap["specials"], dtype=np.int64).reshape(-1, 2)
    if len(pairs):
        new[torch.from_numpy(pairs[:, 0])] = old[torch.from_numpy(pairs[:, 1])].to(new.dtype)
    return new


def transfer_rows(inp: torch.Tensor, out: torch.Tensor | None, overlap: dict, method: str,
                  params: dict | None = None, aux=None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """New (input, output or None when tied) rows from the source rows by `method`."""
    fn = get_method(method)
    n = overlap["old_size"]
    if n > inp.shape[0]:
        raise LangadaptError(f"overlap was computed for a {n}-token vocabulary but the model has {inp.shape[0]} rows")
    if inp.shape[0] > n:  # rows padded past the tokenizer (Qwen: 151,936 for 151,669 tokens) stand for no token
        log.info("the source model's %d rows past its %d tokens (padding) are left out", inp.shape[0] - n, n)
        inp, out = inp[:n], None if out is None else out[:n]
    new_in, new_out = fn(inp, out, overlap, aux, **(params or {}))
    new_in = copy_shared(new_in, inp, overlap)
    if new_out is not None:
        new_out = copy_shared(new_out, out, overlap)
    return new_in, new_out


def transfer_model(model, new_tokenizer, overlap: dict, method: str, params: dict | None = None, aux=None):
    """Give `model` the new vocabulary with embeddings from `method` (in place; returns it)."""
    inp, out = (None if m is None else m.detach() for m in embedding_matrices(model))
    set_embeddings(model, new_tokenizer, *transfer_rows(inp, out, overlap, method, params, aux))
    return model


def plm_aux(plm_dir, tokenizer, trust_remote_code: bool = False) -> dict:
    """The PLM's input/output rows, indexed by the new vocabulary's ids.

    The PLM must use the new tokenizer: every token string at the same id, and an embedding row
    for every token (the LET paper's setup, where the new vocabulary *is* the PLM's)."""
    plm_tok = load_tokenizer(plm_dir, trust_remote_code=trust_remote_code)
    mine, theirs = tokenizer.get_vocab(), plm_tok.get_vocab()
    if not mine.items() <= theirs.items():  # every token at the same id (set ops on dict views, no loop)
        differ = len(mine.items() - theirs.items())
        raise LangadaptError(f"PLM {plm_dir}: its tokenizer does not match the vocabulary variant "
                             f"({differ} of {len(mine)} tokens missing or at other ids)")
    plm = Embeddings(plm_dir, trust_remote_code)
    if plm.input.shape[0] < len(mine):
        raise LangadaptError(f"PLM {plm_dir}: its tokenizer has {len(mine)} tokens but its embeddings "
                             f"only {plm.input.shape[0]} rows")
    n = len(mine)
    return {"plm_in": plm.input[:n], "plm_out": None if plm.tied else plm.output[:n]}


def build_init_model(base_dir, tokenizer_dir, overlap_json, out_dir, method: str, params: dict | None = None,
                     vectors=None, plm=None, trust_remote_code: bool = False) -> None:
    """init/{vocab}/{method}/: the base model with the new vocabulary, before any training.

    `vectors`: the .npz of auxiliary token vectors (focus, wechsel); `plm`: the PLM directory
    (let, salt). Every input is checked before the base model is loaded."""
    get_method(method)
    tok = load_tokenizer(tokenizer_dir)
    ov = load_overlap(overlap_json)
    if ov["new_size"] != len(tok):
        raise LangadaptError(f"overlap {overlap_json} is for {ov['new_size']} tokens but {tokenizer_dir} has {len(tok)}")
    need = METHODS[method]
    if need and {"vectors": vectors, "plm": plm}[need] is None:
        raise LangadaptError(f"transfer method '{method}' needs its {need} input")
    if need == "plm" and not ov["shared"]:
        raise LangadaptError(f"{method}: the PLM's vocabulary {tokenizer_dir} shares no tokens with the LLM's: "
                             "there is nothing to fit the map on")
    aux = load_aux(vectors) if need == "vectors" else plm_aux(plm, tok, trust_remote_code) if need == "plm" else None
    base = Embeddings(base_dir, trust_remote_code)
    new_in, new_out = transfer_rows(base.input, base.output, ov, method, params, aux)
    with atomic_dir(out_dir) as tmp:
        write_model(base, tmp, new_in, new_out, tok)

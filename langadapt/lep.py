"""Learned Embedding Propagation (LEP §2.2): carry CPT-trained embeddings into the instruct model.

The instruct model is viewed as I_base·D·W_inst·U·O_base; propagation keeps W_inst and
swaps in the adapted embeddings (Swap: D = U = identity). The propagated tokenizer is the
new tokenizer plus the instruct model's chat tokens, whose rows come from the instruct model.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from .errors import LangadaptError
from .models import embedding_matrices
from .transfer import set_embeddings

log = logging.getLogger(__name__)

METHODS = ("swap",)


def check_compatible(instruct_model, cpt_model) -> None:
    """Same architecture and hidden size, or propagation makes no sense."""
    a, b = instruct_model.config, cpt_model.config
    if a.model_type != b.model_type or a.hidden_size != b.hidden_size or a.num_hidden_layers != b.num_hidden_layers:
        raise LangadaptError(
            f"instruct model ({a.model_type}, hidden {a.hidden_size}, {a.num_hidden_layers} layers) does not match "
            f"the adapted base ({b.model_type}, hidden {b.hidden_size}, {b.num_hidden_layers} layers)"
        )


def chat_tokens(instruct_tok) -> list[str]:
    """Added tokens the instruct model's chat template uses, plus its eos token."""
    template = instruct_tok.chat_template or ""
    added = [t.content for t in instruct_tok.added_tokens_decoder.values()]
    out = [t for t in added if t in template]
    if instruct_tok.eos_token and instruct_tok.eos_token not in out and instruct_tok.eos_token in added:
        out.append(instruct_tok.eos_token)
    return out


def propagated_tokenizer(new_tok, instruct_tok):
    """New tokenizer + instruct chat tokens + chat template; returns (tokenizer, [(new_id, instruct_id)])."""
    from tokenizers import AddedToken

    carried = [t for t in chat_tokens(instruct_tok) if t not in new_tok.get_vocab()]
    new_tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in carried], special_tokens=True)
    if instruct_tok.chat_template:
        new_tok.chat_template = instruct_tok.chat_template
    if instruct_tok.eos_token in chat_tokens(instruct_tok):
        new_tok.eos_token = instruct_tok.eos_token  # the instruct model ends its turns with it
    iv = instruct_tok.get_vocab()
    pairs = [(new_tok.convert_tokens_to_ids(t), iv[t]) for t in chat_tokens(instruct_tok) if t in iv]
    return new_tok, pairs


def propagate_swap(cpt_in, cpt_out, **_):
    """Swap: the adapted embeddings as they are."""
    return cpt_in, cpt_out


def check_method(method: str) -> None:
    if method not in METHODS:
        raise LangadaptError(f"lep method '{method}' is unknown; choose from {', '.join(METHODS)}")


def propagate(instruct_model, instruct_tok, cpt_model, cpt_tok, method: str = "swap"):
    """The instruct model with the adapted vocabulary; modifies and returns (model, tokenizer)."""
    check_method(method)
    check_compatible(instruct_model, cpt_model)
    cpt_in, cpt_out = embedding_matrices(cpt_model)
    inst_in, inst_out = embedding_matrices(instruct_model)
    new_in, new_out = propagate_swap(cpt_in.detach(), None if cpt_out is None else cpt_out.detach())
    tied = inst_out is None
    tok, carried = propagated_tokenizer(cpt_tok, instruct_tok)
    n = len(tok)
    rows_in = _grow(new_in, n)
    rows_out = None if tied or new_out is None else _grow(new_out, n)
    if carried:
        dst, src = (torch.from_numpy(np.asarray(x, dtype=np.int64)) for x in zip(*carried))
        rows_in[dst] = inst_in.detach()[src].to(rows_in.dtype)
        if rows_out is not None:
            rows_out[dst] = inst_out.detach()[src].to(rows_out.dtype)
    set_embeddings(instruct_model, tok, rows_in, rows_out)
    eos = [tok.convert_tokens_to_ids(t) for t in {tok.eos_token} if t]
    instruct_model.generation_config.eos_token_id = eos[0] if len(eos) == 1 else eos
    return instruct_model, tok


def _grow(rows: torch.Tensor, n: int) -> torch.Tensor:
    out = rows.new_zeros((n, rows.shape[1]))
    out[: rows.shape[0]] = rows
    if n > rows.shape[0]:
        out[rows.shape[0]:] = rows.mean(0)
    return out


def build_propagated(instruct_dir, cpt_dir, out_dir, method: str, trust_remote_code: bool = False) -> None:
    """lep/{vocab}/{init}/{method}/: the instruct model speaking the new vocabulary."""
    from .common import atomic_dir
    from .models import load_model, load_tokenizer, save_model

    check_method(method)  # before loading any model
    inst = load_model(instruct_dir, trust_remote_code=trust_remote_code)
    cpt = load_model(cpt_dir, trust_remote_code=trust_remote_code)
    model, tok = propagate(inst, load_tokenizer(instruct_dir), cpt, load_tokenizer(cpt_dir), method)
    with atomic_dir(out_dir) as tmp:
        save_model(model, tok, tmp)

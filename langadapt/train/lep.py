"""Learned Embedding Propagation (LEP §2.2): carry CPT-trained embeddings into the instruct model.

The instruct model is viewed as I_base·D·W_inst·U·O_base; propagation keeps W_inst and
puts in I_cpt·D and O_cpt·U. Swap: D = U = identity. Overlap: D, U fitted by least squares
on the rows of tokens both vocabularies share. Conversion: both base and instruct rows are
first carried into the new vocabulary by the mean-of-subtokens matrix T, and the map is fitted
there. The propagated tokenizer is the new tokenizer plus the instruct model's chat tokens,
whose rows come from the instruct model.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from tokenizers import AddedToken

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir
from langadapt.models.files import check_rows_fit
from langadapt.models.io import chat_template_text, embedding_matrices, load_tokenizer, set_embeddings
from langadapt.models.weights import Embeddings, read_config, write_model
from langadapt.transfer.mean import conversion_matrix
from langadapt.vocab.overlap import load_overlap

log = logging.getLogger(__name__)


def _config(x) -> dict:
    """A model's, a config object's or a config.json dict's fields."""
    x = getattr(x, "config", x)
    return x if isinstance(x, dict) else x.to_dict()


def check_compatible(instruct_model, other, what: str = "the adapted base") -> None:
    """Same architecture and hidden size, or propagation makes no sense (models or their configs)."""
    keys = ("model_type", "hidden_size", "num_hidden_layers")
    (ta, ha, la), (tb, hb, lb) = ([_config(m).get(k) for k in keys] for m in (instruct_model, other))
    if (ta, ha, la) != (tb, hb, lb):
        raise LangadaptError(
            f"instruct model ({ta}, hidden {ha}, {la} layers) does not match {what} ({tb}, hidden {hb}, {lb} layers)"
        )


def chat_tokens(instruct_tok) -> list[str]:
    """Added tokens the instruct model's chat template uses, plus its eos token."""
    template = chat_template_text(instruct_tok)
    added = [t.content for t in instruct_tok.added_tokens_decoder.values()]
    out = [t for t in added if t in template]
    if instruct_tok.eos_token and instruct_tok.eos_token not in out and instruct_tok.eos_token in added:
        out.append(instruct_tok.eos_token)
    return out


def propagated_tokenizer(new_tok, instruct_tok):
    """New tokenizer + instruct chat tokens + chat template; returns (tokenizer, [(new_id, instruct_id)])."""
    carried = [t for t in chat_tokens(instruct_tok) if t not in new_tok.get_vocab()]
    new_tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in carried], special_tokens=True)
    if instruct_tok.chat_template:
        new_tok.chat_template = instruct_tok.chat_template
    if instruct_tok.eos_token in chat_tokens(instruct_tok):
        new_tok.eos_token = instruct_tok.eos_token  # the instruct model ends its turns with it
    iv = instruct_tok.get_vocab()
    pairs = [(new_tok.convert_tokens_to_ids(t), iv[t]) for t in chat_tokens(instruct_tok) if t in iv]
    return new_tok, pairs


def fit_linear_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The d×d least-squares map with x·P ≈ y, in float64 (as the LEP code: gelsy on CPU)."""
    x64, y64 = x.detach().cpu().to(torch.float64), y.detach().cpu().to(torch.float64)
    if x64.shape[0] < x64.shape[1]:
        log.warning("fitting a %d×%d map on only %d rows: under-determined", x64.shape[1], y64.shape[1], len(x64))
    return torch.linalg.lstsq(x64, y64, driver="gelsy").solution


def _apply(rows: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (rows.detach().to(torch.float64) @ m).to(rows.dtype)


def propagate_swap(cpt, base=None, inst=None, overlap=None):
    """Swap: the adapted rows as they are."""
    return cpt


def propagate_overlap(cpt, base, inst, overlap):
    """Overlap: D = lstsq(base[C], inst[C]) over the shared tokens C; rows cpt·D."""
    old_ids = torch.as_tensor(np.asarray(overlap["shared"], dtype=np.int64).reshape(-1, 2)[:, 1])
    if len(old_ids) == 0:
        raise LangadaptError("lep overlap: the vocabularies share no tokens to fit the map on")
    return _apply(cpt, fit_linear_map(base[old_ids], inst[old_ids]))


def propagate_conversion(cpt, base, inst, overlap):
    """Conversion: P = lstsq(T·base, T·inst) with T the mean-of-subtokens matrix; rows cpt·P."""
    T = conversion_matrix(overlap["offsets"], overlap["subtokens"], overlap["old_size"]).to(torch.float64)
    e_src = torch.sparse.mm(T, base.detach().to(torch.float64))
    e_tgt = torch.sparse.mm(T, inst.detach().to(torch.float64))
    mapped = torch.from_numpy(np.diff(np.asarray(overlap["offsets"])) > 0)  # rows T leaves empty carry no information
    return _apply(cpt, fit_linear_map(e_src[mapped], e_tgt[mapped]))


# the one list of propagations (the schema's `propagation` enum is checked against it)
PROPAGATE = {"swap": propagate_swap, "overlap": propagate_overlap, "conversion": propagate_conversion}


def check_method(method: str) -> None:
    if method not in PROPAGATE:
        raise LangadaptError(f"lep method '{method}' is unknown; choose from {', '.join(PROPAGATE)}")


def check_vocabularies(base_tok, instruct_tok, base: str = "the base model",
                       instruct: str = "the instruct model") -> None:
    """The instruct model must keep the base model's token ids (it may add chat tokens)."""
    if not base_tok.get_vocab().items() <= instruct_tok.get_vocab().items():
        raise LangadaptError(f"{instruct}: its tokenizer does not keep the token ids of {base}; "
                             "LEP needs an instruct model fine-tuned from this base")


def check_donor(cpt_tok, variant_tok, cpt_config) -> None:
    """The adapted model must speak the vocabulary variant it is propagated for."""
    if cpt_tok.get_vocab() != variant_tok.get_vocab():
        raise LangadaptError("the adapted model's tokenizer does not match the vocabulary variant it claims")
    check_rows_fit("the adapted model", len(cpt_tok), _config(cpt_config)["vocab_size"])


def propagate_rows(inst, cpt, base, overlap, method: str, n: int, carried: list[tuple[int, int]]):
    """The instruct model's new (input, output or None when tied) rows for an n-token tokenizer.

    inst, cpt, base: (input rows, output rows or None when tied); base and overlap are needed
    by overlap and conversion. `carried`: (new id, instruct id) of the chat tokens, whose rows
    come from the instruct model. Tied instruct embeddings: the input rows only."""
    n_old = overlap["old_size"] if overlap is not None else None
    cut = lambda rows: None if rows is None else rows[:n_old]  # noqa: E731
    carry = lambda c, b, i: PROPAGATE[method](c, cut(b), cut(i), overlap)  # noqa: E731
    (inst_in, inst_out), (cpt_in, cpt_out) = inst, cpt
    base_in, base_out = base if base is not None else (None, None)
    rows_in = _grow(carry(cpt_in, base_in, inst_in), n)
    # an untied instruct lm_head takes the adapted output rows (the input rows where a model ties them)
    rows_out = None if inst_out is None else _grow(carry(cpt_in if cpt_out is None else cpt_out,
                                                         base_in if base_out is None else base_out, inst_out), n)
    if carried:
        dst, src = (torch.from_numpy(np.asarray(x, dtype=np.int64)) for x in zip(*carried))
        rows_in[dst] = inst_in[src].to(rows_in.dtype)
        if rows_out is not None:
            rows_out[dst] = inst_out[src].to(rows_out.dtype)
    return rows_in, rows_out


def _eos_ids(tok):
    eos = [tok.convert_tokens_to_ids(t) for t in {tok.eos_token} if t]
    return eos[0] if len(eos) == 1 else eos


def propagate(instruct_model, instruct_tok, cpt_model, cpt_tok, method: str = "swap", base_model=None,
              overlap=None):
    """The instruct model with the adapted vocabulary; modifies and returns (model, tokenizer).

    Overlap and conversion need the base model and the overlap of its vocabulary with the new one."""
    check_method(method)
    check_compatible(instruct_model, cpt_model)
    if method != "swap":
        if base_model is None or overlap is None:
            raise LangadaptError(f"lep {method} needs the base model and the vocabulary overlap")
        check_compatible(instruct_model, base_model, "the base model")
    rows = lambda m: tuple(None if w is None else w.detach() for w in embedding_matrices(m))  # noqa: E731
    tok, carried = propagated_tokenizer(cpt_tok, instruct_tok)
    new_in, new_out = propagate_rows(rows(instruct_model), rows(cpt_model),
                                     rows(base_model) if method != "swap" else None, overlap, method, len(tok), carried)
    set_embeddings(instruct_model, tok, new_in, new_out)
    instruct_model.generation_config.eos_token_id = _eos_ids(tok)
    return instruct_model, tok


def _grow(rows: torch.Tensor, n: int) -> torch.Tensor:
    out = rows.new_zeros((n, rows.shape[1]))
    out[: rows.shape[0]] = rows
    if n > rows.shape[0]:
        out[rows.shape[0]:] = rows.mean(0)
    return out


def build_propagated(instruct_dir, cpt_dir, out_dir, method: str, *, tokenizer_dir=None, base_dir=None,
                     overlap_json=None, trust_remote_code: bool = False) -> None:
    """lep/{vocab}/{init}/{method}/: the instruct model speaking the new vocabulary. Only the
    embedding rows of the three models are read (langadapt.weights); every check runs first."""
    check_method(method)  # before loading any weights
    cfg = lambda d: read_config(d, trust_remote_code=trust_remote_code)  # noqa: E731
    tok = lambda d: load_tokenizer(d, trust_remote_code=trust_remote_code)  # noqa: E731
    inst_cfg, cpt_cfg = cfg(instruct_dir), cfg(cpt_dir)
    check_compatible(inst_cfg, cpt_cfg)
    cpt_tok, inst_tok = tok(cpt_dir), tok(instruct_dir)
    if tokenizer_dir is not None:
        check_donor(cpt_tok, tok(tokenizer_dir), cpt_cfg)
    base = overlap = None
    if method != "swap":
        if base_dir is None or overlap_json is None:
            raise LangadaptError(f"lep {method} needs the base model and the vocabulary overlap")
        check_compatible(inst_cfg, cfg(base_dir), "the base model")
        check_vocabularies(tok(base_dir), inst_tok, f"the base model {base_dir}", f"instruct model {instruct_dir}")
        overlap = load_overlap(overlap_json)
        b = Embeddings(base_dir, trust_remote_code)
        base = (b.input, b.output)
    inst = Embeddings(instruct_dir, trust_remote_code)
    cpt = Embeddings(cpt_dir, trust_remote_code)
    out_tok, carried = propagated_tokenizer(cpt_tok, inst_tok)
    new_in, new_out = propagate_rows((inst.input, inst.output), (cpt.input, cpt.output), base, overlap, method,
                                     len(out_tok), carried)
    with atomic_dir(out_dir) as tmp:
        write_model(inst, tmp, new_in, new_out, out_tok, generation={"eos_token_id": _eos_ids(out_tok)})

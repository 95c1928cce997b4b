"""Extended and Optimized vocabularies (LEP §2.1.1): new-language BPE tokens merged into the
source model's own BPE tokenizer.

Works on the `tokenizers` JSON of the source tokenizer, for both families: byte-level BPE
(LLaMa-3/GPT-2, `Ġ`) and SentencePiece-style BPE (Mistral/LLaMa-2, `▁`). A donor
SentencePiece BPE trained on the target language supplies new tokens in rank order; each is
rewritten in the source's alphabet and made reachable by one appended merge.

- Extended: every source token keeps its id; new tokens are appended.
- Optimized: the source vocabulary is first shrunk to the share of its tokens most used on
  target-language text (plus special tokens, the alphabet and byte fallbacks, and every
  token a kept token is merged from); the old->new id map is returned for initialization.
"""

from __future__ import annotations

import json
import logging
import math
import re

import numpy as np
import sentencepiece as spm
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from langadapt.core.errors import LangadaptError
from langadapt.vocab.overlap import byte_tables, family
from langadapt.vocab.sentencepiece import bpe_merges

log = logging.getLogger(__name__)

SPACE = "\u2581"
_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def bpe_backend(tokenizer, name: str = "") -> dict:
    """The source tokenizer's `tokenizers` JSON, which must hold a BPE model."""
    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    kind = backend["model"].get("type")
    if kind != "BPE":
        raise LangadaptError(
            f"tokenizer variant '{name}': the source tokenizer's model is {kind}; Extended and Optimized "
            "need a BPE source tokenizer (byte-level or SentencePiece-style)"
        )
    merges = backend["model"]["merges"]
    backend["model"]["merges"] = [m.split(" ", 1) if isinstance(m, str) else list(m) for m in merges]
    return backend


def donor_tokens(spm_model) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Normal pieces of a SentencePiece BPE model in rank order, and the merges building each (best first)."""
    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i) or sp.is_unused(i))]
    vocab = {p: i for i, p in enumerate(pieces)}
    split: dict[str, list[tuple[str, str]]] = {}
    for a, b in bpe_merges(pieces, vocab):
        split.setdefault(a + b, []).append((a, b))
    return pieces, split


def to_source_alphabet(pieces: list[str], fam: str) -> list[str]:
    """Rewrite SentencePiece pieces in the source model's alphabet (concatenation-preserving)."""
    if fam != "byte_level":
        return list(pieces)
    to_unicode, _ = byte_tables()
    table = [to_unicode[b] for b in range(256)]
    return ["".join(table[b] for b in p.replace(SPACE, " ").encode("utf-8")) for p in pieces]


def pin_added_tokens(backend: dict) -> None:
    """Give every added token an entry at its own id in the model's vocabulary too. `tokenizers`
    numbers an added token that the model lacks after the model's vocabulary size when it loads
    the JSON: LLaMa-3's 256 special tokens (ids 128000-128255, outside its BPE vocabulary) would
    move behind the appended tokens and leave holes where they stood. In the vocabulary they keep
    their ids; the added-token pass still matches them before the BPE model sees any text."""
    vocab = backend["model"]["vocab"]
    for t in backend["added_tokens"]:
        vocab.setdefault(t["content"], t["id"])


def _next_id(backend: dict) -> int:
    ids = list(backend["model"]["vocab"].values()) + [t["id"] for t in backend["added_tokens"]]
    return max(ids) + 1 if ids else 0


def append_tokens(backend: dict, tokens: list[str], splits: dict[str, list[tuple[str, str]]],
                  limit: int | None) -> int:
    """Append `tokens` (in order) to the BPE model with merges making each reachable.

    A token is built by its donor merges (halves added first when missing), else by a split
    into two present tokens, else from its prefix and last character. Stops before the total
    size would pass `limit`. Returns the number of tokens added.
    """
    vocab: dict[str, int] = backend["model"]["vocab"]
    merges: list[list[str]] = backend["model"]["merges"]
    taken = {t["content"] for t in backend["added_tokens"]}
    start = next_id = _next_id(backend)
    size = len(vocab) + sum(t["content"] not in vocab for t in backend["added_tokens"])

    def add(tok: str) -> bool:
        nonlocal next_id, size
        if tok in vocab:
            return True
        if tok in taken or (limit is not None and size >= limit):
            return False
        if len(tok) > 1:
            cands = splits.get(tok) or [next(((tok[:k], tok[k:]) for k in range(len(tok) - 1, 0, -1)
                                              if tok[:k] in vocab and tok[k:] in vocab), (tok[:-1], tok[-1:]))]
            a, b = cands[0]
            if not (add(a) and add(b)) or (limit is not None and size >= limit):
                return False
            merges.extend([a, b] for a, b in cands if a in vocab and b in vocab)
        vocab[tok] = next_id
        next_id += 1
        size += 1
        return True

    for t in tokens:
        if limit is not None and size >= limit:
            break
        add(t)
    return next_id - start


def _model_only_core(backend: dict):
    core = dict(backend, normalizer=None, pre_tokenizer=None, post_processor=None, added_tokens=[])
    return Tokenizer.from_str(json.dumps(core))


def repair_merges(backend: dict, tokens: list[str], limit: int | None, rounds: int = 3) -> int:
    """Make appended tokens reachable despite the source's own earlier merges.

    A source merge can grab a byte or character a new merge needs (byte-level BPE merges
    across character boundaries, e.g. `Ġ`+`Ð`), so a token spelled alone may come out in
    pieces. Such a token gets merges chaining its actual pieces (intermediates added as tokens
    while under `limit`). Returns how many tokens stay unreachable when spelled alone.
    """
    vocab, merges = backend["model"]["vocab"], backend["model"]["merges"]
    have = {(a, b) for a, b in merges}
    for _ in range(rounds):
        present = [t for t in tokens if t in vocab]
        encs = _model_only_core(backend).encode_batch(present, add_special_tokens=False)
        bad = [(t, e.tokens) for t, e in zip(present, encs) if len(e.ids) > 1]
        if not bad:
            return 0
        for t, pieces in bad:
            chain, acc = [], pieces[0]
            for p in pieces[1:]:
                chain.append((acc, p))
                acc += p
            inter = {a + b: [(a, b)] for a, b in chain[:-1] if a + b not in vocab}
            append_tokens(backend, list(inter), inter, limit)
            for a, b in chain:
                if a in vocab and b in vocab and a + b in vocab and (a, b) not in have:
                    merges.append([a, b])
                    have.add((a, b))
    present = [t for t in tokens if t in vocab]
    return sum(len(e.ids) > 1 for e in _model_only_core(backend).encode_batch(present, add_special_tokens=False))


def token_counts(tokenizer, docs: list[str]) -> np.ndarray:
    """How often the tokenizer emits each id on `docs` (batched in the Rust core)."""
    encs = tokenizer.backend_tokenizer.encode_batch(docs, add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
    ids = np.empty(int(lengths.sum()), dtype=np.int64)
    pos = 0
    for e, n in zip(encs, lengths):
        ids[pos:pos + n] = e.ids
        pos += n
    return np.bincount(ids, minlength=len(tokenizer))


def shrink(backend: dict, counts: np.ndarray, keep: float) -> np.ndarray:
    """Keep the `keep` share of model tokens most used (ties: lower id first), plus the
    alphabet, byte fallbacks, unk, added tokens, and every token a kept token is merged from.
    Renumbers in old order, filters merges in place; returns old->new ids (-1: dropped)."""
    model = backend["model"]
    vocab: dict[str, int] = model["vocab"]
    toks = list(vocab)
    ids = np.fromiter((vocab[t] for t in toks), dtype=np.int64, count=len(toks))
    size = max(int(ids.max(initial=-1)), *(t["id"] for t in backend["added_tokens"]), -1) + 1
    counts = np.pad(np.asarray(counts, dtype=np.int64)[:size], (0, max(0, size - len(counts))))
    kept = np.zeros(size, dtype=bool)
    n_keep = math.ceil(keep * len(toks))
    order = ids[np.lexsort((ids, -counts[ids]))]
    kept[order[:n_keep]] = True
    essential = np.fromiter((len(t) == 1 or bool(_BYTE_PIECE.match(t)) or t == model.get("unk_token") for t in toks),
                            dtype=bool, count=len(toks))
    kept[ids[essential]] = True
    kept[[t["id"] for t in backend["added_tokens"]]] = True
    # every kept token needs the tokens of the first merge producing it
    merges = model["merges"]
    res = np.fromiter((vocab.get(a + b, -1) for a, b in merges), dtype=np.int64, count=len(merges))
    left = np.fromiter((vocab.get(a, -1) for a, _ in merges), dtype=np.int64, count=len(merges))
    right = np.fromiter((vocab.get(b, -1) for _, b in merges), dtype=np.int64, count=len(merges))
    valid = (res >= 0) & (left >= 0) & (right >= 0)
    _, first = np.unique(res[valid], return_index=True)
    res, left, right = res[valid][first], left[valid][first], right[valid][first]
    while True:
        need = kept[res]
        before = int(kept.sum())
        kept[left[need]] = True
        kept[right[need]] = True
        if int(kept.sum()) == before:
            break
    old_to_new = np.full(size, -1, dtype=np.int64)
    old_to_new[kept] = np.arange(int(kept.sum()))
    model["vocab"] = {t: int(old_to_new[i]) for t, i in zip(toks, ids) if kept[i]}
    model["merges"] = [m for m in merges if m[0] in model["vocab"] and m[1] in model["vocab"]
                       and m[0] + m[1] in model["vocab"]]
    for t in backend["added_tokens"]:
        t["id"] = int(old_to_new[t["id"]])
    _remap_ids(backend.get("post_processor"), old_to_new)
    return old_to_new


def _remap_ids(node, old_to_new: np.ndarray) -> None:
    """Renumber special-token ids inside a post-processor description (TemplateProcessing etc.)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "ids" and isinstance(v, list):
                node[k] = [int(old_to_new[i]) for i in v]
            elif k in ("bos", "eos", "cls", "sep") and isinstance(v, list) and len(v) == 2 and isinstance(v[1], int):
                v[1] = int(old_to_new[v[1]])
            else:
                _remap_ids(v, old_to_new)
    elif isinstance(node, list):
        for v in node:
            _remap_ids(v, old_to_new)


def merged_tokenizer(source_tok, spm_model, *, kind: str, name: str = "", keep: float = 1.0,
                     size: int | None = None, target_docs: list[str] | None = None):
    """Build an Extended (`keep` ignored) or Optimized vocabulary from `source_tok` and a donor
    SentencePiece BPE model. Returns (fast tokenizer, old->new id map, counts dict)."""
    backend = bpe_backend(source_tok, name)
    old_size = len(source_tok)
    if kind == "extended":
        if size is not None and size < old_size:
            raise LangadaptError(f"tokenizer variant '{name}': key 'size' ({size}) is below the source vocabulary "
                                 f"({old_size}); Extended keeps every source token")
        old_to_new = np.arange(old_size, dtype=np.int64)
    elif kind == "optimized":
        if not target_docs:
            raise LangadaptError(f"tokenizer variant '{name}': no target-language text to count token use on")
        old_to_new = shrink(backend, token_counts(source_tok, target_docs), keep)[:old_size]
    else:
        raise LangadaptError(f"tokenizer variant '{name}': kind '{kind}' is not a merged vocabulary")
    pin_added_tokens(backend)
    kept = int((old_to_new >= 0).sum())
    if size is not None and size < kept:
        raise LangadaptError(f"tokenizer variant '{name}': key 'size' ({size}) is below the {kept} kept source tokens")
    pieces, splits = donor_tokens(spm_model)
    fam = family(source_tok)
    converted = to_source_alphabet(pieces, fam)
    conv_splits = {new: [tuple(to_source_alphabet(list(ab), fam)) for ab in splits[piece]]
                   for piece, new in zip(pieces, converted) if piece in splits}
    append_tokens(backend, converted, conv_splits, size)
    unreachable = repair_merges(backend, converted, size)
    core = Tokenizer.from_str(json.dumps(backend))
    roles = {r: getattr(source_tok, r) for r in ("bos_token", "eos_token", "pad_token", "unk_token")
             if getattr(source_tok, r, None) is not None}
    hf = PreTrainedTokenizerFast(tokenizer_object=core, **roles)
    hf.model_max_length = source_tok.model_max_length
    if getattr(source_tok, "chat_template", None):
        hf.chat_template = source_tok.chat_template
    info = {"source_size": old_size, "kept_source_tokens": kept, "donor_tokens": len(pieces), "added_tokens": len(hf) - kept,
            "donor_unreachable": unreachable}
    log.info("%s vocabulary '%s': %s", kind, name, info)
    return hf, old_to_new, info

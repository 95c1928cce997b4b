"""Static (fastText) vectors that FOCUS and WECHSEL use as their auxiliary spaces.

- FOCUS: fastText trained on target-language text tokenized with the new tokenizer, one
  vector per new token (zero for tokens seen fewer than `min_count` times).
- WECHSEL: word-level fastText for each language, aligned with a bilingual dictionary by
  orthogonal Procrustes; every token of the source and of the new vocabulary gets the
  aligned vector of its surface string (fastText composes unseen strings from n-grams).
"""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from langadapt.core.errors import LangadaptError
from langadapt.core.io import read_lines, write_json
from langadapt.data.dictionaries import word_pairs
from langadapt.lang.profiles import profile
from langadapt.models.io import load_tokenizer
from langadapt.vocab.overlap import surfaces

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+(?:[-']\w+)*")


def _stable_hash(text: str) -> int:
    """gensim seeds each word's initial vector with this; Python's own hash changes per process."""
    return zlib.crc32(text.encode("utf-8"))


def _fasttext(sentences: list[list[str]], dim: int, epochs: int, min_count: int, seed: int):
    """One worker: gensim's lock-free parallel updates race, and two runs would differ."""
    from gensim.models import FastText  # training only: transfer jobs read saved vectors (load_aux)

    if not sentences:
        raise LangadaptError("fastText: no training text")
    model = FastText(vector_size=dim, window=5, min_count=min_count, workers=1, seed=seed, hashfxn=_stable_hash,
                     min_n=3, max_n=6, sg=1)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=epochs)
    return model


def focus_vectors(tokenizer, docs: list[str], *, dim: int = 100, epochs: int = 3, min_count: int = 10,
                  seed: int = 0) -> np.ndarray:
    """|V| × dim token vectors from fastText on the tokenized corpus (FOCUS's auxiliary space)."""
    encs = tokenizer.backend_tokenizer.encode_batch(docs, add_special_tokens=False)
    sentences = [e.tokens for e in encs if e.tokens]
    model = _fasttext(sentences, dim, epochs, min_count, seed)
    out = np.zeros((len(tokenizer), dim), dtype=np.float32)
    vocab = tokenizer.get_vocab()
    present = [(vocab[t], i) for t, i in model.wv.key_to_index.items() if t in vocab]
    if present:
        ids, rows = map(np.asarray, zip(*present))
        out[ids] = model.wv.vectors[rows]
    log.info("focus vectors: %d of %d tokens seen at least %d times", len(present), len(tokenizer), min_count)
    return out


def words(docs: list[str]) -> list[list[str]]:
    return [_WORD.findall(d.lower()) for d in docs]


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Orthogonal W minimising ||X·W - Y|| (rows paired), from the SVD of XᵀY."""
    u, _, vt = np.linalg.svd(X.T.astype(np.float64) @ Y.astype(np.float64))
    return u @ vt


def _normalize(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(n == 0, 1, n)


def alignment_precision(X: np.ndarray, Y: np.ndarray, src_words: list[str], seed: int) -> dict:
    """Held-out quality of the Procrustes alignment: fitted on 80% of the pairs, each remaining
    target word's nearest source words (among all dictionary words) checked for its translation."""
    idx = np.random.default_rng(seed).permutation(len(X))
    fit, test = idx[: int(0.8 * len(idx))], idx[int(0.8 * len(idx)):]
    sims = _normalize(Y[test] @ procrustes(Y[fit], X[fit])) @ X.T
    words_arr = np.asarray(src_words)
    top = words_arr[np.argsort(-sims, axis=1)[:, :10]]
    gold = words_arr[test][:, None]
    return {"heldout_pairs": int(len(test)), "heldout_p_at_1": float((top[:, :1] == gold).any(1).mean()),
            "heldout_p_at_10": float((top == gold).any(1).mean())}


def token_strings(tokenizer) -> list[str | None]:
    """Each token's text without its word-boundary marker (None for special tokens)."""
    return [None if s is None else s.decode("utf-8", errors="ignore").strip().lower() or None
            for s in surfaces(tokenizer)]


def wechsel_vectors(source_tok, new_tok, source_docs: list[str], target_docs: list[str], pairs, *, dim: int = 100,
                    epochs: int = 5, min_count: int = 3, seed: int = 0) -> dict:
    """Aligned vectors for every source token and every new token, and alignment diagnostics."""
    src_model = _fasttext(words(source_docs), dim, epochs, min_count, seed)
    tgt_model = _fasttext(words(target_docs), dim, epochs, min_count, seed)
    usable = [(e, r) for e, r in pairs if e in src_model.wv.key_to_index and r in tgt_model.wv.key_to_index]
    if len(usable) < dim:
        raise LangadaptError(f"wechsel: only {len(usable)} dictionary pairs occur in both corpora "
                             f"(need at least dim={dim}) to align the embeddings")
    X = _normalize(np.stack([src_model.wv[e] for e, _ in usable]))
    Y = _normalize(np.stack([tgt_model.wv[r] for _, r in usable]))
    quality = alignment_precision(X, Y, [e for e, _ in usable], seed)
    W = procrustes(Y, X)  # target space -> source space, fitted on every pair

    def embed(tok, model, rotate):
        strs = token_strings(tok)
        out = np.zeros((len(strs), dim), dtype=np.float32)
        idx = [i for i, s in enumerate(strs) if s]
        if idx:
            vecs = _normalize(np.stack([model.wv[strs[i]] for i in idx]))
            out[idx] = vecs @ W if rotate else vecs
        return out

    log.info("wechsel: %d dictionary pairs in both corpora, held-out precision@1 %.3f, @10 %.3f", len(usable),
             quality["heldout_p_at_1"], quality["heldout_p_at_10"])
    return {"source": embed(source_tok, src_model, False), "target": embed(new_tok, tgt_model, True),
            "pairs_used": len(usable), **quality}


def load_aux(path) -> dict:
    """An .npz of auxiliary arrays as a dict."""
    if not Path(path).exists():
        raise LangadaptError(f"auxiliary vectors {path} are missing")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def build_focus_vectors(tokenizer_dir, target_train, out_npz, *, dim: int, epochs: int, min_count: int,
                        seed: int) -> dict:
    """aux/focus/{vocab}.npz: FOCUS's auxiliary vector for every token of the new vocabulary."""
    vec = focus_vectors(load_tokenizer(tokenizer_dir), read_lines(target_train), dim=dim, epochs=epochs,
                        min_count=min_count, seed=seed)
    stats = {"tokens": len(vec), "with_vector": int((np.abs(vec).sum(1) > 0).sum()), "dim": dim}
    _save_npz(out_npz, focus=vec)
    write_json(Path(out_npz).with_suffix(".json"), stats)
    return stats


def read_side(path, lang) -> list[str]:
    """Documents of one language: a text file (one per line), or one side of a parallel .jsonl."""
    if str(path).endswith(".jsonl"):
        code = profile(lang).code
        return [json.loads(line)[code] for line in read_lines(path)]
    return read_lines(path)


def build_wechsel_vectors(source_tokenizer, tokenizer_dir, source_text, target_text, dictionary, out_npz, *,
                          langs: tuple, dim: int, epochs: int, min_count: int, seed: int,
                          dictionary_format: str | None = None, parallel=None) -> dict:
    """aux/wechsel/{vocab}.npz: aligned vectors for every source token and every new token.

    `source_text`/`target_text`: monolingual text files, or the same parallel .jsonl twice
    (then its two sides, `langs`, are used as comparable corpora; no sentence pairing is used).
    `dictionary`: checked to be for the pair; None: pairs induced from the `parallel` .jsonl."""
    src, tgt = langs
    aligned = [(a, b) for a, b in zip(read_side(parallel, src), read_side(parallel, tgt))] if parallel else None
    pairs = word_pairs(dictionary, dictionary_format, src, tgt, aligned, "transfer.wechsel")
    out = wechsel_vectors(load_tokenizer(source_tokenizer), load_tokenizer(tokenizer_dir),
                          read_side(source_text, langs[0]), read_side(target_text, langs[1]), pairs, dim=dim,
                          epochs=epochs, min_count=min_count, seed=seed)
    _save_npz(out_npz, source=out.pop("source"), target=out.pop("target"))
    stats = {"dictionary_pairs": len(pairs), **out, "dim": dim}
    write_json(Path(out_npz).with_suffix(".json"), stats)
    return stats


def _save_npz(path, **arrays) -> None:
    """Write atomically (a crash never leaves a half-written .npz) and reproducibly: np.savez
    stamps each member with the current time, so two runs would differ byte for byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial.npz")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
    os.replace(tmp, path)

"""The vocabulary variants: build each (bpe, unigram, extended, optimized, plm), check it, and
measure it (characters per token, fertility, round trip)."""

from __future__ import annotations

import logging
import shutil
import time

import numpy as np

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_lines, write_json, write_lines
from langadapt.data.stream import read_sample
from langadapt.models.io import load_tokenizer
from langadapt.vocab.merge import bpe_backend, merged_tokenizer
from langadapt.vocab.metrics import tokenization_metrics
from langadapt.vocab.overlap import shared_tokens, special_ids
from langadapt.vocab.sentencepiece import sentencepiece_to_hf, train_sentencepiece

log = logging.getLogger(__name__)


def tokenizer_mix(target_docs: list[str], source_train, source_share: float) -> list[str]:
    """Target text plus source-language text (the first documents of `source_train`) making up
    `source_share` of the bytes (the paper trains its tokenizers on a Russian+English mix, so
    English stays encodable)."""
    if source_share <= 0:
        return target_docs
    budget = source_share / (1 - source_share) * sum(len(d.encode("utf-8")) for d in target_docs)
    source_docs = read_sample(source_train, int(budget) + 1)
    sizes = np.cumsum([len(d.encode("utf-8")) for d in source_docs])
    return target_docs + source_docs[: int(np.searchsorted(sizes, budget, side="right"))]


SENTENCEPIECE_KINDS = ("bpe", "unigram")
MERGED_KINDS = ("extended", "optimized")
# the one list of vocabulary kinds (the schema's enum is checked against it); plm: an hf PLM's tokenizer
KINDS = SENTENCEPIECE_KINDS + MERGED_KINDS + ("plm",)


def check_variant(name: str, variant: dict, source_tok=None) -> None:
    """Refuse a variant that cannot be built, naming it and the key, before any training."""
    kind = variant.get("kind")
    if kind not in KINDS:
        raise LangadaptError(f"tokenizer variant '{name}': key 'kind' is '{kind}'; choose from "
                             f"{', '.join(KINDS)}")
    if kind == "plm":
        return
    size_key = "size" if kind in SENTENCEPIECE_KINDS else "donor_size"
    if not isinstance(variant.get(size_key), int) or variant[size_key] < 1:
        raise LangadaptError(f"tokenizer variant '{name}': key '{size_key}' must be a positive integer, "
                             f"got {variant.get(size_key)}")
    keep = variant.get("keep", 1.0)
    if kind == "optimized" and not 0 < keep <= 1:
        raise LangadaptError(f"tokenizer variant '{name}': key 'keep' must be in (0, 1], got {keep}")
    if kind in MERGED_KINDS and source_tok is not None:

        bpe_backend(source_tok, name)
        if kind == "extended" and variant.get("size") is not None and variant["size"] < len(source_tok):
            raise LangadaptError(f"tokenizer variant '{name}': key 'size' ({variant['size']}) is below the source "
                                 f"vocabulary ({len(source_tok)}); Extended keeps every source token")


def vocabulary_stats(source_tok, tok, id_map=None) -> dict:
    """Vocabulary size, tokens shared with the source vocabulary, and the share that is new."""
    shared, _ = shared_tokens(source_tok, tok, id_map)
    n_special = len(special_ids(tok))
    n_new = len(tok) - len(shared) - n_special
    return {"size": len(tok), "source_size": len(source_tok), "shared_with_source": len(shared), "special": n_special, "new": n_new,
            "share_new": n_new / max(len(tok), 1), "share_of_source_kept": len(shared) / max(len(source_tok), 1)}


def build_tokenizer(target_train, source_train, heldout: dict[str, str], source_tokenizer, out_dir, *, variant: dict,
                    source_share: float, byte_fallback: bool, character_coverage: float, input_sentence_size: int,
                    threads: int, name: str = "", plm_dir=None, sample_bytes: int | None = None) -> dict:
    """Train a vocabulary variant, write it as a HF tokenizer directory, and measure it. It trains
    on the first `sample_bytes` of the target language's training shards (`target_train`, a
    deterministic random sample of them) and source-language text beside them (`source_share`).

    bpe/unigram: a SentencePiece model of `size` exported as is (spm.model kept beside it).
    extended/optimized: a donor SentencePiece BPE of `donor_size` merged into the source
    tokenizer (donor.model and the old->new id_map.json kept beside it).
    plm: the target-language PLM's own tokenizer, as the LET paper's new vocabulary.
    """
    source_tok = load_tokenizer(source_tokenizer)
    check_variant(name, variant, source_tok)
    kind = variant["kind"]
    if kind == "plm":
        return _adopt_tokenizer(plm_dir, source_tok, heldout, out_dir, variant, name)
    merged = kind in MERGED_KINDS
    size = variant["donor_size"] if merged else variant["size"]
    target_docs = read_sample(target_train, sample_bytes)
    with atomic_dir(out_dir) as tmp:
        mix = tokenizer_mix(target_docs, source_train, source_share)
        write_lines(tmp / "train.txt", mix)
        train_bytes = (tmp / "train.txt").stat().st_size
        t0 = time.perf_counter()
        try:
            model = train_sentencepiece(tmp / "train.txt", tmp / "spm", "bpe" if merged else kind, size,
                                        threads=threads, byte_fallback=byte_fallback,
                                        character_coverage=character_coverage, input_sentence_size=input_sentence_size)
        except LangadaptError as e:
            key = "donor_size" if merged else "size"
            raise LangadaptError(f"config key 'tokenizer.variants.{name}.{key}': {e}") from None
        info = {}
        if merged:

            shutil.move(model, tmp / "donor.model")
            hf, id_map, info = merged_tokenizer(source_tok, tmp / "donor.model", kind=kind, name=name,
                                                keep=variant.get("keep", 1.0), size=variant.get("size"),
                                                target_docs=target_docs)
            hf.save_pretrained(tmp)
            write_json(tmp / "id_map.json", {"source_size": len(source_tok), "old_to_new": id_map.tolist()})
        else:
            id_map = None
            shutil.move(model, tmp / "spm.model")
            hf = sentencepiece_to_hf(tmp / "spm.model", tmp)
        seconds = time.perf_counter() - t0
        (tmp / "spm.vocab").unlink(missing_ok=True)
        (tmp / "train.txt").unlink()
        held = {lang: read_lines(p) for lang, p in sorted(heldout.items())}
        stats = {
            "variant": name, **variant, "size": len(hf),
            "vocabulary": vocabulary_stats(source_tok, hf, id_map),
            "heldout": {lang: tokenization_metrics(hf, docs) for lang, docs in held.items()},
            "source_heldout": {lang: tokenization_metrics(source_tok, docs) for lang, docs in held.items()},
            "training": {"bytes": train_bytes, **info},
        }
        # a measurement, not a result: in the log (and the rule's benchmark file), so that
        # stats.json is the same bytes in every run
        log.info("trained on %.2f MB in %.1f s (%.2f MB/s)", train_bytes / 1e6, seconds,
                 train_bytes / 1e6 / max(seconds, 1e-9))
        write_json(tmp / "stats.json", stats)
    return stats


def _adopt_tokenizer(plm_dir, source_tok, heldout: dict[str, str], out_dir, variant: dict, name: str) -> dict:
    """The `plm` kind: the PLM's tokenizer becomes the variant, measured like the trained ones."""
    if plm_dir is None:
        raise LangadaptError(f"tokenizer variant '{name}': kind 'plm' needs the PLM (transfer.plm)")
    hf = load_tokenizer(plm_dir)
    with atomic_dir(out_dir) as tmp:
        hf.save_pretrained(tmp)
        held = {lang: read_lines(p) for lang, p in sorted(heldout.items())}
        stats = {
            "variant": name, **variant, "size": len(hf),
            "vocabulary": vocabulary_stats(source_tok, hf),
            "heldout": {lang: tokenization_metrics(hf, docs) for lang, docs in held.items()},
            "source_heldout": {lang: tokenization_metrics(source_tok, docs) for lang, docs in held.items()},
            "training": {"bytes": 0, "from": "the PLM (transfer.plm)"},
        }
        write_json(tmp / "stats.json", stats)
    return stats

"""Target-language tokenizers: SentencePiece training and export as a transformers fast tokenizer.

The export builds the `tokenizers` pipeline directly from the SentencePiece model
(Metaspace pre-tokenization, BPE merges derived from piece ranks), so it does not depend
on the slow-tokenizer converters of a particular transformers release.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .errors import LangadaptError

log = logging.getLogger(__name__)

SPM_SPECIALS = {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}
SPACE = "\u2581"


def train_sentencepiece(train_file, model_prefix, kind: str, vocab_size: int, *, threads: int = 1,
                        byte_fallback: bool = False, character_coverage: float = 0.9999,
                        max_sentence_length: int = 16384, input_sentence_size: int = 0, seed: int = 0) -> Path:
    """Train a SentencePiece model (`kind` bpe or unigram) with the LEP paper's options."""
    import sentencepiece as spm

    if kind not in ("bpe", "unigram"):
        raise LangadaptError(f"tokenizer kind '{kind}': SentencePiece trains only 'bpe' or 'unigram'")
    if not Path(train_file).exists() or Path(train_file).stat().st_size == 0:
        raise LangadaptError(f"tokenizer training file {train_file} is missing or empty")
    try:
        spm.SentencePieceTrainer.train(
            input=str(train_file),
            model_prefix=str(model_prefix),
            model_type=kind,
            vocab_size=vocab_size,
            split_digits=True,
            byte_fallback=byte_fallback,
            character_coverage=character_coverage,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=True,
            split_by_whitespace=True,
            max_sentence_length=max_sentence_length,
            input_sentence_size=input_sentence_size,
            shuffle_input_sentence=True,
            num_threads=max(1, threads),
            unk_id=0, bos_id=1, eos_id=2, pad_id=3,
            unk_piece=SPM_SPECIALS["unk"], bos_piece=SPM_SPECIALS["bos"],
            eos_piece=SPM_SPECIALS["eos"], pad_piece=SPM_SPECIALS["pad"],
            minloglevel=2,
        )
    except RuntimeError as e:
        msg = str(e).splitlines()[-1] if str(e) else repr(e)
        high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", msg)
        low = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", msg)
        if high:
            raise LangadaptError(f"vocab_size {vocab_size} is more than the training text gives: at most "
                                 f"{high.group(2)} tokens (add corpus or lower it)") from None
        if low:
            raise LangadaptError(f"vocab_size {vocab_size} is below the {low.group(2)} characters and specials the "
                                 "training text needs (raise it or lower tokenizer.character_coverage)") from None
        if "vocab_size" in msg:
            raise LangadaptError(f"vocab_size {vocab_size}: the corpus cannot support it ({msg})") from None
        raise LangadaptError(f"SentencePiece training failed: {msg}") from None
    return _without_paths(Path(f"{model_prefix}.model"))


def _without_paths(model: Path) -> Path:
    """Clear the training-input paths a SentencePiece model records (a temporary directory): the
    same corpus then gives the same bytes wherever the experiment runs."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    model.write_bytes(proto.SerializeToString())
    return model


def _bpe_merges(pieces: list[str], vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Merges implied by a SentencePiece BPE vocabulary: a piece is made from two pieces of it,
    merged in the order of the resulting piece's rank."""
    merges = []
    for piece in pieces:
        if len(piece) < 2:
            continue
        cands = [(vocab[piece[:k]], vocab[piece[k:]], piece[:k], piece[k:])
                 for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        cands.sort()
        merges.extend((a, b) for _, _, a, b in cands)
    return merges


def sentencepiece_to_hf(model_file, out_dir=None):
    """A transformers fast tokenizer equivalent to the SentencePiece model (BPE or Unigram)."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    scores = [sp.get_score(i) for i in range(n)]
    is_bpe = _model_type(model_file) == "bpe"
    byte_fallback = any(re.fullmatch(r"<0x[0-9A-F]{2}>", p) for p in pieces)
    unk = SPM_SPECIALS["unk"]
    if is_bpe:
        vocab = {p: i for i, p in enumerate(pieces)}
        normal = [p for i, p in enumerate(pieces) if sp.is_unknown(i) is False and not sp.is_control(i) and not sp.is_byte(i)]
        model = models.BPE(vocab=vocab, merges=_bpe_merges(normal, vocab), unk_token=unk, fuse_unk=True,
                           byte_fallback=byte_fallback)
    else:
        model = models.Unigram(list(zip(pieces, scores)), unk_id=sp.unk_id(), byte_fallback=byte_fallback)
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="first", split=True)
    tok.normalizer = None
    parts = [decoders.Replace(SPACE, " ")]
    if byte_fallback:
        parts += [decoders.ByteFallback()]
    parts += [decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    tok.decoder = decoders.Sequence(parts)
    bos = SPM_SPECIALS["bos"]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, sp.bos_id())])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=unk, bos_token=bos,
                                 eos_token=SPM_SPECIALS["eos"], pad_token=SPM_SPECIALS["pad"])
    hf.model_max_length = 1 << 30
    if out_dir is not None:
        hf.save_pretrained(out_dir)
    return hf


def _model_type(model_file) -> str:
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(Path(model_file).read_bytes())
    return {1: "unigram", 2: "bpe"}.get(m.trainer_spec.model_type, "other")


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


def tokenizer_mix(target_docs: list[str], source_docs: list[str], source_share: float) -> list[str]:
    """Target text plus source-language text making up `source_share` of the bytes (the paper
    trains its tokenizers on a Russian+English mix, so English stays encodable)."""
    if source_share <= 0:
        return target_docs
    budget = source_share / (1 - source_share) * sum(len(d.encode("utf-8")) for d in target_docs)
    sizes = np.cumsum([len(d.encode("utf-8")) for d in source_docs])
    return target_docs + source_docs[: int(np.searchsorted(sizes, budget, side="right"))]


SENTENCEPIECE_KINDS = ("bpe", "unigram")
MERGED_KINDS = ("extended", "optimized")


def check_variant(name: str, variant: dict, source_tok=None) -> None:
    """Refuse a variant that cannot be built, naming it and the key, before any training."""
    kind = variant.get("kind")
    if kind not in SENTENCEPIECE_KINDS + MERGED_KINDS + ("plm",):
        raise LangadaptError(f"tokenizer variant '{name}': key 'kind' is '{kind}'; choose from "
                             f"{', '.join(SENTENCEPIECE_KINDS + MERGED_KINDS + ('plm',))}")
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
        from .vocabulary import bpe_backend

        bpe_backend(source_tok, name)
        if kind == "extended" and variant.get("size") is not None and variant["size"] < len(source_tok):
            raise LangadaptError(f"tokenizer variant '{name}': key 'size' ({variant['size']}) is below the source "
                                 f"vocabulary ({len(source_tok)}); Extended keeps every source token")


def vocabulary_stats(source_tok, tok, id_map=None) -> dict:
    """Vocabulary size, tokens shared with the source vocabulary, and the share that is new."""
    from .overlap import shared_tokens, special_ids

    shared, _ = shared_tokens(source_tok, tok, id_map)
    n_special = len(special_ids(tok))
    n_new = len(tok) - len(shared) - n_special
    return {"size": len(tok), "source_size": len(source_tok), "shared_with_source": len(shared), "special": n_special, "new": n_new,
            "share_new": n_new / max(len(tok), 1), "share_of_source_kept": len(shared) / max(len(source_tok), 1)}


def build_tokenizer(target_train, source_train, heldout: dict[str, str], source_tokenizer, out_dir, *, variant: dict,
                    source_share: float, byte_fallback: bool, character_coverage: float, input_sentence_size: int,
                    threads: int, name: str = "", plm_dir=None) -> dict:
    """Train a vocabulary variant, write it as a HF tokenizer directory, and measure it.

    bpe/unigram: a SentencePiece model of `size` exported as is (spm.model kept beside it).
    extended/optimized: a donor SentencePiece BPE of `donor_size` merged into the source
    tokenizer (donor.model and the old->new id_map.json kept beside it).
    plm: the target-language PLM's own tokenizer, as the LET paper's new vocabulary.
    """
    import shutil
    import time

    from .common import atomic_dir, read_lines, write_json, write_lines
    from .models import load_tokenizer

    source_tok = load_tokenizer(source_tokenizer)
    check_variant(name, variant, source_tok)
    kind = variant["kind"]
    if kind == "plm":
        return _adopt_tokenizer(plm_dir, source_tok, heldout, out_dir, variant, name)
    merged = kind in MERGED_KINDS
    size = variant["donor_size"] if merged else variant["size"]
    target_docs = read_lines(target_train)
    with atomic_dir(out_dir) as tmp:
        mix = tokenizer_mix(target_docs, read_lines(source_train), source_share)
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
            from .vocabulary import merged_tokenizer

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
    from .common import atomic_dir, read_lines, write_json
    from .models import load_tokenizer

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

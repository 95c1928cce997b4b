"""Target-language tokenizers: SentencePiece training and export as a transformers fast tokenizer.

The export builds the `tokenizers` pipeline directly from the SentencePiece model
(Metaspace pre-tokenization, BPE merges derived from piece ranks), so it does not depend
on the slow-tokenizer converters of a particular transformers release.
"""

from __future__ import annotations

import re
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from langadapt.core.errors import LangadaptError

SPM_SPECIALS = {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}


SPACE = "\u2581"


def train_sentencepiece(train_file, model_prefix, kind: str, vocab_size: int, *, threads: int = 1,
                        byte_fallback: bool = False, character_coverage: float = 0.9999,
                        max_sentence_length: int = 16384, input_sentence_size: int = 0, seed: int = 0) -> Path:
    """Train a SentencePiece model (`kind` bpe or unigram) with the LEP paper's options."""
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
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    model.write_bytes(proto.SerializeToString())
    return model


def bpe_merges(pieces: list[str], vocab: dict[str, int]) -> list[tuple[str, str]]:
    """Merges implied by a SentencePiece BPE vocabulary: a piece is made from two pieces of it,
    merged in the order `pieces` come (rank, or score)."""
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
    """A transformers fast tokenizer equivalent to the SentencePiece model (BPE or Unigram).

    Special tokens are the model's own (unk, bos, eos, and pad only where it has one: Mistral's
    has none). A model trained with whitespace-only pieces (Mistral's `▁▁`, `▁▁▁▁`) keeps runs of
    spaces as one word, as SentencePiece does: its text is prefixed and its spaces replaced in the
    normalizer, and a split isolates each word with the whole space run before it; BPE merges in
the order of the pieces' scores (Mistral's whitespace runs score last, whatever their ids) (the same ids as
    SentencePiece on every line of the default's corpora, tested)."""
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    proto = _proto(model_file)
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    scores = [sp.get_score(i) for i in range(n)]
    is_bpe = proto.trainer_spec.model_type == pb.TrainerSpec.BPE
    byte_fallback = any(re.fullmatch(r"<0x[0-9A-F]{2}>", p) for p in pieces)
    unk = pieces[sp.unk_id()]
    if is_bpe:
        vocab = {p: i for i, p in enumerate(pieces)}
        normal = [i for i in range(n) if not (sp.is_unknown(i) or sp.is_control(i) or sp.is_byte(i))]
        normal.sort(key=lambda i: -scores[i])  # merge priority is the score (Mistral's `▁▁` comes last), stable by id
        model = models.BPE(vocab=vocab, merges=bpe_merges([pieces[i] for i in normal], vocab), unk_token=unk, fuse_unk=True,
                           byte_fallback=byte_fallback)
    else:
        model = models.Unigram(list(zip(pieces, scores)), unk_id=sp.unk_id(), byte_fallback=byte_fallback)
    tok = Tokenizer(model)
    if proto.trainer_spec.allow_whitespace_only_pieces:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend(SPACE), normalizers.Replace(" ", SPACE)])
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"{SPACE}*[^{SPACE}]+|{SPACE}+$"),
                                                 behavior="isolated")
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="first", split=True)
        tok.normalizer = None
    parts = [decoders.Replace(SPACE, " ")]
    if byte_fallback:
        parts += [decoders.ByteFallback()]
    parts += [decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    tok.decoder = decoders.Sequence(parts)
    bos = pieces[sp.bos_id()]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, sp.bos_id())])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=unk, bos_token=bos, eos_token=pieces[sp.eos_id()],
                                 pad_token=pieces[sp.pad_id()] if sp.pad_id() >= 0 else None)
    hf.model_max_length = 1 << 30
    if out_dir is not None:
        hf.save_pretrained(out_dir)
    return hf


def _proto(model_file):
    m = pb.ModelProto()
    m.ParseFromString(Path(model_file).read_bytes())
    return m

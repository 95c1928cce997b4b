"""Tokenizer export and metrics: the fast tokenizer exported from a SentencePiece model (BPE or
Unigram) tokenizes exactly like SentencePiece and round-trips with digits split; a target-language
tokenizer reads Russian more efficiently than the English-centric one; a vocabulary the corpus
cannot give is one clear error; the training mix holds the configured share of source-language
bytes; a `plm` variant adopts the PLM's tokenizer."""

import pytest
import sentencepiece as spm

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.vocab.metrics import tokenization_metrics
from langadapt.vocab.sentencepiece import sentencepiece_to_hf, train_sentencepiece


def test_hf_export_tokenizes_exactly_like_sentencepiece(spm_model, spm_tok, ru_docs):
    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    texts = ru_docs[:200] + ["Число 12345 и  два пробела", "смешанный text 42"]
    for t in texts:
        assert spm_tok.encode(t, add_special_tokens=False) == sp.encode(t), t


def test_roundtrip_and_digits_split(spm_tok, ru_docs):
    m = tokenization_metrics(spm_tok, ru_docs[:100])
    assert m["roundtrip"] == 1.0
    toks = spm_tok.convert_ids_to_tokens(spm_tok.encode("2024", add_special_tokens=False))
    assert [t.strip("\u2581") for t in toks if t.strip("\u2581")] == ["2", "0", "2", "4"]


def test_unigram_export(tmp_path, ru_docs):
    write_lines(tmp_path / "ru.txt", ru_docs)
    m = train_sentencepiece(tmp_path / "ru.txt", tmp_path / "u", "unigram", 90)
    sp = spm.SentencePieceProcessor(model_file=str(m))
    hf = sentencepiece_to_hf(m)
    for t in ru_docs[:50]:
        assert hf.encode(t, add_special_tokens=False) == sp.encode(t)


def test_target_tokenizer_is_more_efficient_on_russian(spm_tok, byte_level_tok, ru_docs):
    new = tokenization_metrics(spm_tok, ru_docs[-100:])["chars_per_token"]
    old = tokenization_metrics(byte_level_tok, ru_docs[-100:])["chars_per_token"]
    assert new > 1.5 * old


def test_too_large_vocabulary_is_a_clear_error(tmp_path):
    write_lines(tmp_path / "t.txt", ["маленький корпус текста"] * 5)
    with pytest.raises(LangadaptError, match="vocab_size 50000"):
        train_sentencepiece(tmp_path / "t.txt", tmp_path / "x", "bpe", 50000)


def test_tokenizer_mix_byte_share(ru_docs, en_docs, tmp_path):
    from langadapt.vocab.build import tokenizer_mix

    write_lines(tmp_path / "en" / "part-00000.txt", en_docs)
    mix = tokenizer_mix(ru_docs, tmp_path / "en", 0.2)
    en = sum(len(d.encode()) for d in mix[len(ru_docs):])
    total = sum(len(d.encode()) for d in mix)
    assert mix[: len(ru_docs)] == ru_docs and mix[len(ru_docs):] == en_docs[: len(mix) - len(ru_docs)]
    assert 0.18 < en / total <= 0.2
    assert tokenizer_mix(ru_docs, tmp_path / "en", 0.0) == ru_docs


def test_plm_kind_adopts_the_plm_tokenizer(tmp_path, byte_level_tok, spm_tok, ru_docs, en_docs):
    from langadapt.core.io import write_lines
    from langadapt.models.io import load_tokenizer
    from langadapt.vocab.build import build_tokenizer

    byte_level_tok.save_pretrained(tmp_path / "source")
    spm_tok.save_pretrained(tmp_path / "plm")
    write_lines(tmp_path / "ru.txt", ru_docs[:50])
    write_lines(tmp_path / "en.txt", en_docs[:50])
    stats = build_tokenizer(tmp_path / "ru.txt", tmp_path / "en.txt", {"ru": tmp_path / "ru.txt"}, tmp_path / "source",
                            tmp_path / "out", variant={"kind": "plm"}, source_share=0.2, byte_fallback=False,
                            character_coverage=1.0, input_sentence_size=0, threads=1, name="rugpt",
                            plm_dir=tmp_path / "plm")
    assert load_tokenizer(tmp_path / "out").get_vocab() == spm_tok.get_vocab()
    assert stats["size"] == len(spm_tok) and stats["heldout"]["ru"]["roundtrip"] == 1.0

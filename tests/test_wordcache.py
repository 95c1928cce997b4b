"""Tokenization word by word through a table of each word's ids: the same ids as SentencePiece
encoding whole documents (BPE and Unigram, runs of spaces, normalization, long words), each
distinct word encoded once, a hash collision or a full table never changing an id, and models
whose pieces cross spaces left to the plain encoder."""

from __future__ import annotations

import numpy as np
import pytest
import sentencepiece
from sentencepiece import sentencepiece_model_pb2 as pb

from langadapt.core.io import write_lines
from langadapt.vocab import tokens, wordcache
from langadapt.vocab.sentencepiece import train_sentencepiece
from langadapt.vocab.wordcache import WordCachedEncoder


@pytest.fixture(scope="module")
def models(spm_model, ru_docs, tmp_path_factory):
    d = tmp_path_factory.mktemp("unigram")
    write_lines(d / "ru.txt", ru_docs)
    return {"bpe": spm_model, "unigram": train_sentencepiece(d / "ru.txt", d / "sp", "unigram", 100)}


def _docs(ru_docs):
    """The corpus with spaces doubled, at either end, made by normalization (a no-break space),
    and words past LONG_WORD, in blocks of 100 documents."""
    odd = [d.replace(" ", "  ", 1) for d in ru_docs[:20]] + [f" {d} " for d in ru_docs[20:30]]
    odd += [d.replace(" ", "\u00a0", 2) for d in ru_docs[30:40]] + ["ж" * 200 + " " + ru_docs[40]]
    docs = ru_docs + odd + tokens.EDGES
    return [docs[i:i + 100] for i in range(0, len(docs), 100)]


def _same(a, b) -> bool:
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_word_by_word_ids_are_sentencepieces_own_and_each_word_is_encoded_once(kind, models, ru_docs):
    sp = sentencepiece.SentencePieceProcessor(model_file=str(models[kind]))
    asked: list[str] = []
    cached = WordCachedEncoder(lambda texts: asked.extend(texts) or sp.encode(texts))
    assert tokens.word_separable(sp, cached)
    blocks = _docs(ru_docs)
    docs = [d for b in blocks for d in b]
    long = [d for d in docs if max(len(w.encode()) for w in d.split(" ")) > wordcache.LONG_WORD]
    assert len(long) == 2
    asked.clear()
    for block in blocks:
        assert _same(cached(block), wordcache.flat(sp.encode(block)))
    words = {w for d in docs if d not in long for w in d.split(" ")}
    assert sorted(asked) == sorted([*words, *long])  # each distinct word once; documents with a long word whole
    asked.clear()
    for block in blocks:  # the next pass finds every word in the table
        assert _same(cached(block), wordcache.flat(sp.encode(block)))
    assert asked == long
    two_lines = [ru_docs[0], ru_docs[1] + "\n" + ru_docs[2]]  # not one line each: encoded whole
    assert _same(cached(two_lines), wordcache.flat(sp.encode(two_lines)))


def test_a_hash_collision_or_a_full_table_never_changes_an_id(models, ru_docs, monkeypatch):
    sp = sentencepiece.SentencePieceProcessor(model_file=str(models["bpe"]))
    blocks = _docs(ru_docs)
    asked: list[str] = []
    small = WordCachedEncoder(lambda texts: asked.extend(texts) or sp.encode(texts), max_words=100)
    for block in blocks:  # each block has ~75 distinct words: the table starts over
        assert _same(small(block), wordcache.flat(sp.encode(block))) and len(small.k1) <= 100
    assert len(asked) > len(set(asked)) + 100

    cached = WordCachedEncoder(sp.encode)
    cached(blocks[0])
    real = WordCachedEncoder._hashes

    def first_key_collides(self, a, starts, ends):  # every word agrees on the first hash only
        k1, k2 = real(self, a, starts, ends)
        return np.zeros_like(k1), k2

    def second_key_differs(self, a, starts, ends):  # the words of the table, but another second hash
        k1, k2 = real(self, a, starts, ends)
        return k1, k2 + np.uint64(1)

    for fake in (first_key_collides, second_key_differs):
        monkeypatch.setattr(WordCachedEncoder, "_hashes", fake)
        plain = []
        monkeypatch.setattr(cached, "plain", lambda docs: plain.append(docs) or WordCachedEncoder.plain(cached, docs))
        assert _same(cached(blocks[0]), WordCachedEncoder.plain(cached, blocks[0])) and plain == [blocks[0]]


@pytest.mark.parametrize("change", ["a piece across a space", "no dummy prefix"])
def test_a_model_whose_pieces_cross_spaces_is_encoded_whole(change, models, tmp_path):
    proto = pb.ModelProto()
    proto.ParseFromString(models["bpe"].read_bytes())
    if change == "no dummy prefix":
        proto.normalizer_spec.add_dummy_prefix = False
    else:
        proto.pieces.add(piece="а\u2581б", score=-1000.0, type=pb.ModelProto.SentencePiece.NORMAL)
    (tmp_path / "spm.model").write_bytes(proto.SerializeToString())
    encode = tokens.encoder("sentencepiece", str(tmp_path / "spm.model"))
    assert not isinstance(encode, WordCachedEncoder)
    assert isinstance(tokens.encoder("sentencepiece", str(models["bpe"])), WordCachedEncoder)

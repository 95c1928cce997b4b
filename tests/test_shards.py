"""Corpora at scale: the split streams its sources into hash-partitioned training shards (the
same documents and held-out part as the in-memory split, every document in exactly one shard,
one shard keeping the corpus order), de-duplication by 64-bit digests, bounded samples; each
shard tokenized once into a memory-mapped token file (the same ids as tokenizing in memory,
uint16 or uint32 by vocabulary size, document ends) from which CPT reads its blocks; a damaged
shard, a full disk and another vocabulary's token files are one clear line, with no partial
output."""

from __future__ import annotations

import copy
import errno
import json
import logging
import signal

import numpy as np
import pytest
from shards import token_shards

from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.data import corpus, stream
from langadapt.data.stream import DigestSet, digest, iter_docs, read_sample, shard_of, shard_paths
from langadapt.train.trainer import pack_blocks
from langadapt.vocab import tokens
from langadapt.vocab.tokens import DOCS, TOKENS, TokenShards, tokenize_shard


def test_the_digest_set_finds_exactly_the_repeats_as_it_grows():
    rng = np.random.default_rng(0)
    s, seen = DigestSet(capacity=16), set()
    for _ in range(60):
        batch = rng.integers(2, 3000, 200).astype(np.uint64)
        want = []
        for v in batch.tolist():
            want.append(v not in seen)
            seen.add(v)
        assert s.add_many(batch).tolist() == want
    assert len(s) == len(seen) and len(s.table) >= 2 * len(seen)


@pytest.fixture
def sources(tmp_path, ru_docs):
    docs = [f"{d} ({i})" for i, d in enumerate(ru_docs * 4)]
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_lines(a, docs[:300] + docs[:50])  # repeats within and across sources
    write_lines(b, docs[250:])
    return [str(a), str(b)]


def _split(tmp_path, sources, shards, **kw):
    kw = {"heldout_fraction": 0.1, "max_heldout_docs": 20, "max_train_bytes": None, **kw}
    stats = corpus.write_split(sources, tmp_path / "ru" / "train", tmp_path / "ru" / "heldout.txt",
                               tmp_path / "ru" / "split.json", shards=shards, **kw)
    return [list(iter_docs([p])) for p in shard_paths(tmp_path / "ru" / "train", shards)], stats


def test_the_split_hash_partitions_the_same_training_documents_into_shards(tmp_path, sources):
    docs = list(iter_docs(sources))
    train, heldout = corpus.split_documents(docs, 0.1, None, 20)
    parts, stats = _split(tmp_path, sources, 4)
    assert sorted(d for p in parts for d in p) == sorted(train)  # each training document in exactly one shard
    assert all(shard_of(digest(d), 4) == i for i, p in enumerate(parts) for d in p)
    assert all(len(p) > len(train) / 8 for p in parts)  # a uniform random part each
    assert list(iter_docs([tmp_path / "ru" / "heldout.txt"])) == heldout
    assert [s["documents"] for s in stats["train"]["shards"]] == [len(p) for p in parts]
    assert stats["train"]["bytes"] == sum(len(d.encode()) for d in train)
    assert json.loads((tmp_path / "ru" / "split.json").read_text()) == stats
    # one shard: the corpus order, as the in-memory split writes it; a byte cap keeps the same prefix
    assert _split(tmp_path / "one", sources, 1)[0] == [train]
    capped, _ = corpus.split_documents(docs, 0.1, 20000, 20)
    assert _split(tmp_path / "cap", sources, 1, max_train_bytes=20000)[0] == [capped]


def test_a_split_without_held_out_documents_writes_nothing(tmp_path, sources):
    with pytest.raises(LangadaptError, match="corpus split ru: .* 0 held-out documents"):
        _split(tmp_path, sources, 3, heldout_fraction=1e-12)
    assert not (tmp_path / "ru").exists() or not any((tmp_path / "ru").iterdir())


def test_a_sample_is_the_first_documents_up_to_its_budget(tmp_path, sources):
    _split(tmp_path, sources, 3)
    train = tmp_path / "ru" / "train"
    everything = list(iter_docs([train]))
    sample = read_sample(train, 5000)
    assert sample == everything[: len(sample)]
    assert sum(len(d.encode()) for d in sample[:-1]) < 5000 <= sum(len(d.encode()) for d in sample)
    assert read_sample(train) == everything


def test_a_damaged_shard_is_one_line_naming_it_and_the_offset(tmp_path):
    shard = tmp_path / "part-00000.txt"
    shard.write_bytes("первый документ\n".encode() + b"bad \xff byte\n")
    with pytest.raises(LangadaptError, match=rf"corpus file {shard}: invalid UTF-8 at byte offset 34;"):
        list(iter_docs([shard]))


@pytest.mark.parametrize("name", ["byte_level_tok", "spm_tok"])
def test_token_shards_hold_the_ids_of_in_memory_tokenization(name, request, tmp_path, ru_docs):
    tok = request.getfixturevalue(name)
    [one] = token_shards(tok, ru_docs, tmp_path)
    meta = json.loads((one / "meta.json").read_text())
    assert meta["dtype"] == "uint16" and meta["documents"] == len(ru_docs) and meta["eos"] == tok.eos_token_id
    ids = np.fromfile(one / TOKENS, dtype=np.uint16)
    per_doc = tok(ru_docs, add_special_tokens=False)["input_ids"]
    assert ids.tolist() == [t for x in per_doc for t in (*x, tok.eos_token_id)]
    assert np.fromfile(one / DOCS, dtype=np.uint64).tolist() == np.cumsum([len(x) + 1 for x in per_doc]).tolist()
    blocks = TokenShards([one], 32)
    assert np.array_equal(np.stack([blocks.block(i) for i in range(len(blocks))]), pack_blocks(tok, ru_docs, 32))


def test_a_sentencepiece_vocabulary_is_encoded_by_sentencepiece_to_the_same_ids(tmp_path, spm_model, spm_tok,
                                                                                 ru_docs, caplog, monkeypatch):
    """bpe and unigram variants keep their spm.model: SentencePiece's encoder, twice as fast, once
    it agrees with the exported tokenizer on the shard's first documents."""
    import shutil

    spm_tok.save_pretrained(tmp_path / "tok")
    shutil.copy(spm_model, tmp_path / "tok" / "spm.model")
    write_lines(tmp_path / "part-00000.txt", ru_docs)
    monkeypatch.setattr(tokens, "BLOCK_BYTES", 2048)
    with caplog.at_level(logging.INFO, logger="langadapt.vocab.tokens"):
        tokenize_shard(tmp_path / "tok", tmp_path / "part-00000.txt", tmp_path / "tokens", threads=2)
    assert "encoding with sentencepiece in 2 processes" in caplog.text
    per_doc = spm_tok(ru_docs, add_special_tokens=False)["input_ids"]
    want = [t for x in per_doc for t in (*x, spm_tok.eos_token_id)]
    assert np.fromfile(tmp_path / "tokens" / TOKENS, dtype=np.uint16).tolist() == want


@pytest.mark.parametrize("name", ["byte_level_tok", "spm_tok"])
def test_processes_write_the_blocks_of_one_process_in_order(name, request, tmp_path, ru_docs, monkeypatch, caplog):
    """Blocks of 2 KB: the shard is many blocks, encoded by 3 processes out of order, written in
    order; a damaged byte in a block a process decodes is the one line naming the file and its
    offset, and leaves no token shard."""
    tok = request.getfixturevalue(name)
    monkeypatch.setattr(tokens, "BLOCK_BYTES", 2048)
    tok.save_pretrained(tmp_path / "tok")
    shard = tmp_path / "part-00000.txt"
    write_lines(shard, ru_docs)
    assert shard.stat().st_size > 20 * 2048
    one = tokenize_shard(tmp_path / "tok", shard, tmp_path / "one", threads=1)
    with caplog.at_level(logging.INFO, logger="langadapt.vocab.tokens"):
        three = tokenize_shard(tmp_path / "tok", shard, tmp_path / "three", threads=3)
    assert "in 3 processes" in caplog.text
    assert one == three and one["documents"] == len(ru_docs) and one["bytes"] == shard.stat().st_size
    for f in (TOKENS, DOCS):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "three" / f).read_bytes()
    data = shard.read_bytes()
    at = data.index(b"\n", 15 * 2048) + 1  # a line's first byte, in the 16th block
    shard.write_bytes(data[:at] + b"\xff" + data[at:])
    # the job's process has a SIGTERM handler that does not exit (as some libraries install): the
    # pool's workers must still end when the error ends the pool, not hang its terminate()
    previous = signal.signal(signal.SIGTERM, lambda *a: None)
    signal.signal(signal.SIGALRM, lambda *a: pytest.fail("the pool did not end"))
    signal.alarm(60)
    try:
        with pytest.raises(LangadaptError, match=rf"corpus file {shard}: invalid UTF-8 at byte offset {at};"):
            tokenize_shard(tmp_path / "tok", shard, tmp_path / "bad", threads=3)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "part-00000.txt", "three", "tok"]


def test_blocks_run_shard_after_shard_up_to_max_tokens(tmp_path, byte_level_tok, ru_docs):
    dirs = token_shards(byte_level_tok, ru_docs, tmp_path, shards=3)
    flat = [np.fromfile(d / TOKENS, dtype=np.uint16).astype(np.int64) for d in dirs]
    want = np.concatenate([f[: len(f) // 16 * 16].reshape(-1, 16) for f in flat])
    blocks = TokenShards(dirs, 16)
    assert np.array_equal(np.stack([blocks.block(i) for i in range(len(blocks))]), want)
    assert len(TokenShards(dirs, 16, max_tokens=16 * 50 + 7)) == 50
    with pytest.raises(IndexError):
        blocks.block(len(blocks))


def test_a_vocabulary_over_65536_tokens_is_stored_as_uint32(tmp_path, byte_level_tok, ru_docs):
    tok = copy.deepcopy(byte_level_tok)  # the fixture is the session's: 70,000 tokens would slow every later test
    tok.add_tokens([f"<extra_{i}>" for i in range(70000 - len(tok))])
    tok.add_tokens(["документ"])  # id 70000: needs 32 bits
    [one] = token_shards(tok, ru_docs[:20], tmp_path)
    assert json.loads((one / "meta.json").read_text())["dtype"] == "uint32"
    ids = np.fromfile(one / TOKENS, dtype=np.uint32)
    assert ids.max() >= 70000 and ids.tolist()[: 5] == tok(ru_docs[0], add_special_tokens=False)["input_ids"][:5]


def test_a_model_of_another_vocabulary_is_refused(tmp_path, byte_level_tok, spm_tok, ru_docs):
    shards = TokenShards(token_shards(byte_level_tok, ru_docs, tmp_path), 32)
    shards.check_tokenizer(byte_level_tok, "m")
    with pytest.raises(LangadaptError, match="m: its tokenizer is not the vocabulary the token shards"):
        shards.check_tokenizer(spm_tok, "m")


def test_a_full_disk_mid_write_is_one_line_and_leaves_no_partial_shard(tmp_path, sources, monkeypatch, capsys):
    """The split's shard writer fails with ENOSPC after 2 KB, as a full disk does."""
    from langadapt.core.stage import stage

    real_open = open

    class Full:
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, text):
            self.n += len(text)
            if self.n > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(text)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def opener(path, mode="r", *a, **kw):
        f = real_open(path, mode, *a, **kw)
        return Full(f) if "w" in mode else f

    monkeypatch.setattr(stream, "open", opener, raising=False)
    with pytest.raises(SystemExit) as done, stage(str(tmp_path / "logs" / "corpus_split" / "ru.log")):
        _split(tmp_path, sources, 3)
    assert done.value.code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "langadapt: error: corpus_split/ru: the disk is full (No space left on device); its partial outputs "
        "are removed: free space and run it again")
    assert not (tmp_path / "ru").exists() or list((tmp_path / "ru").iterdir()) == []

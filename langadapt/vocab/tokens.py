"""Pre-tokenized training text: each shard of a corpus tokenized once per vocabulary into a flat
token file that CPT memory-maps.

A token shard is a directory: `tokens.bin` (every document's ids followed by the tokenizer's
eos, uint16 when the vocabulary fits, else uint32), `docs.bin` (uint64: where each document
ends in tokens.bin, its eos included) and `meta.json` (counts, dtype, eos, and a fingerprint of
the vocabulary, so that a model is never trained on another vocabulary's ids).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import multiprocessing
import os
import re
import signal
from collections import deque
from itertools import chain
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_dir, read_json, write_json
from langadapt.data.stream import Progress, decode_block, raw_blocks
from langadapt.models.io import load_tokenizer
from langadapt.vocab.wordcache import WordCachedEncoder, flat

log = logging.getLogger(__name__)

TOKENS, DOCS, META = "tokens.bin", "docs.bin", "meta.json"
BLOCK_BYTES = 4 << 20  # text encoded per call: bounded memory, a few blocks in flight per process


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 1 << 16 else np.uint32)


def vocabulary_fingerprint(tokenizer) -> str:
    """A digest of the token → id map (added tokens included) and the eos id."""
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    text = json.dumps([vocab, tokenizer.eos_token_id], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encoder(how: str, source: str):
    """docs -> (their ids without special tokens, the number of ids of each document), in one
    thread: SentencePiece ("sentencepiece", the spm.model path; word by word through a cache where
    the model allows it, see wordcache) or the tokenizers library ("tokenizers", the tokenizer's
    JSON)."""
    if how == "sentencepiece":
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_file=source)
        cached = WordCachedEncoder(lambda docs: sp.encode(docs, num_threads=1))
        return cached if word_separable(sp, cached) else cached.plain
    return _backend_encoder(Tokenizer.from_str(source))


# texts a word-by-word encoder would get wrong if the model did not allow it: runs of spaces,
# spaces at either end, spaces that normalization makes, combining marks after a space, long words
EDGES = ["a  b", " lead", "trail ", "  ", "x\u00a0y z", "\u3000全角 スペース", "a \u0301b \u00a8x", "tab\tthere",
         "ёлка   ель ", "x" * 300 + " после", "1234 56789"]


def word_separable(sp, cached: WordCachedEncoder) -> bool:
    """Whether the model encodes a text as its space-separated words' encodings one after another:
    a dummy prefix before the first word (as a space gives every later one), no piece with a space
    after its first character, and the word-by-word ids the same as the plain encoder's on EDGES."""
    pieces = "\n".join(sp.id_to_piece(list(range(sp.get_piece_size()))))
    if not sp.encode("a", out_type=str)[0].startswith("\u2581") or re.search("[^\n]\u2581", pieces):
        return False
    return all(np.array_equal(a, b) for a, b in zip(WordCachedEncoder(cached.encode)(EDGES), cached.plain(EDGES)))


def _backend_encoder(backend):
    return lambda docs: flat([e.ids for e in backend.encode_batch_fast(docs, add_special_tokens=False)])


def choose_encoder(tokenizer_dir, tok, probe: list[str]) -> tuple[str, str]:
    """SentencePiece where the vocabulary was exported from a SentencePiece model kept beside it
    (bpe, unigram: 2–5× as fast as the tokenizers library), once it gives the tokenizer's ids on
    `probe`; else the tokenizers library."""
    hf = ("tokenizers", tok.backend_tokenizer.to_str())
    model = Path(tokenizer_dir) / "spm.model"
    if model.is_file():
        sp = ("sentencepiece", str(model))
        got, want = encoder(*sp)(probe), _backend_encoder(tok.backend_tokenizer)(probe)  # no second parse of the JSON
        if all(np.array_equal(g, w) for g, w in zip(got, want)):
            return sp
        log.warning("%s: SentencePiece's ids differ from the tokenizer's on the first documents; encoding with "
                    "the tokenizers library", model)
    return hf


def encode_documents(encode, docs: list[str], eos: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(ids with eos after each document, number of tokens of each document with its eos)."""
    ids, lengths = encode(docs)
    lengths = lengths + 1
    out = np.full(int(lengths.sum()), eos, dtype=dtype)
    body = np.ones(len(out), dtype=bool)
    body[np.cumsum(lengths) - 1] = False
    out[body] = ids
    return out, lengths


_WORKER: dict = {}  # what a tokenizing process encodes with (set once per process)


def _start_worker(how: str, source: str, path: str, eos: int, dtype) -> None:
    # a forked worker keeps the job's signal handlers: a Python SIGTERM handler that does not exit
    # would leave Pool.terminate() waiting forever; Ctrl-C is the job's to handle (it ends the pool)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(encode=encoder(how, source), path=path, eos=eos, dtype=dtype)


def _tokenize_block(data: bytes, offset: int) -> tuple[np.ndarray, np.ndarray, int]:
    docs = decode_block(_WORKER["path"], data, offset)
    return *encode_documents(_WORKER["encode"], docs, _WORKER["eos"], _WORKER["dtype"]), len(data)


def _in_order(pool, fn, items, ahead: int):
    """fn(*item) for each item on the pool's processes, results in order, at most `ahead` items in
    flight (Pool.imap would read the whole input ahead)."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.apply_async(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def tokenize_shard(tokenizer_dir, shard, out_dir, threads: int = 1) -> dict:
    """Tokenize one corpus shard into a token shard directory, streamed in blocks of BLOCK_BYTES;
    `threads` processes decode and encode blocks in parallel, each with one thread of its own
    (faster than the encoders' own threads: the ids become Python lists and arrays in parallel
    too), and the blocks are written in order."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread per process; none started before the fork
    tok = load_tokenizer(tokenizer_dir)
    if tok.eos_token_id is None:
        raise LangadaptError(f"tokenizer {tokenizer_dir}: no eos token to end documents with")
    dtype = token_dtype(len(tok))
    blocks = raw_blocks(shard, BLOCK_BYTES)
    first = next(blocks, None)
    if first is None:
        how, source = "tokenizers", tok.backend_tokenizer.to_str()
    else:
        how, source = choose_encoder(tokenizer_dir, tok, decode_block(shard, *first)[:256])
        blocks = chain([first], blocks)
    setup = (how, source, str(shard), tok.eos_token_id, dtype)
    threads = max(1, min(threads, -(-Path(shard).stat().st_size // BLOCK_BYTES)))  # no idle processes for a small shard
    log.info("encoding with %s in %d processes", how, threads)
    n_tokens = n_docs = n_bytes = 0
    progress = Progress(f"tokenize {Path(shard).name}")
    with contextlib.ExitStack() as stack:
        if threads > 1:
            pool = stack.enter_context(multiprocessing.get_context("fork").Pool(threads, _start_worker, setup))
            encoded = _in_order(pool, _tokenize_block, blocks, ahead=2 * threads)
        else:
            _start_worker(*setup)
            encoded = (_tokenize_block(*b) for b in blocks)
        tmp = stack.enter_context(atomic_dir(out_dir))
        with open(tmp / TOKENS, "wb") as tokens, open(tmp / DOCS, "wb") as ends:
            for ids, lengths, size in encoded:
                tokens.write(ids.tobytes())
                ends.write((n_tokens + np.cumsum(lengths)).astype(np.uint64).tobytes())
                n_tokens += len(ids)
                n_docs += len(lengths)
                n_bytes += size
                progress.update(size)
        meta = {"tokens": n_tokens, "documents": n_docs, "bytes": n_bytes, "dtype": dtype.name, "eos": tok.eos_token_id,
                "vocab_size": len(tok), "vocabulary": vocabulary_fingerprint(tok)}
        write_json(tmp / META, meta)
    log.info("tokenized %s: %d documents, %d tokens", shard, n_docs, n_tokens)
    return meta


class TokenShards:
    """The token shards of a vocabulary, memory-mapped lazily (a worker process opens its own
    maps): block i is the i-th run of `block_size` consecutive tokens, shard after shard (a
    shard's tail shorter than a block is left out), at most `max_tokens` // block_size blocks."""

    def __init__(self, shard_dirs, block_size: int, max_tokens: int | None = None):
        self.dirs = [Path(d) for d in shard_dirs]
        self.meta = [read_json(d / META) for d in self.dirs]
        if len({(m["vocabulary"], m["dtype"]) for m in self.meta}) > 1:
            raise LangadaptError(f"token shards under {self.dirs[0].parent}: written with different vocabularies")
        self.block_size = block_size
        per_shard = np.array([m["tokens"] // block_size for m in self.meta], dtype=np.int64)
        self.ends = np.cumsum(per_shard)
        total = int(self.ends[-1]) if len(self.ends) else 0
        self.blocks = min(total, max_tokens // block_size) if max_tokens else total
        self._maps: dict[int, np.ndarray] = {}

    def check_tokenizer(self, tokenizer, where: str) -> None:
        """The model's tokenizer must be the one the shards were written with."""
        if self.meta and self.meta[0]["vocabulary"] != vocabulary_fingerprint(tokenizer):
            raise LangadaptError(f"{where}: its tokenizer is not the vocabulary the token shards {self.dirs[0].parent} "
                                 "were written with")

    def __len__(self) -> int:
        return self.blocks

    def block(self, i: int) -> np.ndarray:
        if not 0 <= i < self.blocks:
            raise IndexError(i)
        s = int(np.searchsorted(self.ends, i, side="right"))
        if s not in self._maps:
            self._maps[s] = self._map(s)
        j = i - (int(self.ends[s - 1]) if s else 0)
        return np.asarray(self._maps[s][j * self.block_size:(j + 1) * self.block_size], dtype=np.int64)

    def _map(self, s: int) -> np.ndarray:
        """Shard s's tokens, memory-mapped for random reads: blocks are read in shuffled order, so
        the kernel's read-ahead would only fill memory with pages no block asks for."""
        with open(self.dirs[s] / TOKENS, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        mm.madvise(mmap.MADV_RANDOM)
        return np.frombuffer(mm, dtype=self.meta[s]["dtype"], count=self.meta[s]["tokens"])

    def __getstate__(self):  # a pickled copy (a DataLoader worker) maps the files anew
        return {**self.__dict__, "_maps": {}}

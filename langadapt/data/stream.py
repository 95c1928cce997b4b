"""Corpora as streams: documents read lazily from (sharded) text files, bounded samples of them,
de-duplication by a fixed-size digest per document, and hash-sharded writing.

Nothing here holds a corpus in memory: a stream keeps one document at a time, a sample at most
its byte budget, the digest set 16 bytes per distinct document (an 8-byte digest in an open
hash table kept at most half full).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from langadapt.core.errors import LangadaptError
from langadapt.core.io import atomic_file, write_lines

log = logging.getLogger(__name__)


def batched(items: Iterable, n: int) -> Iterator[list]:
    """Lists of n items (the last may be shorter)."""
    batch = []
    for x in items:
        batch.append(x)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


class Progress:
    """Logs how far a long stream has come, at most every `every` seconds: bytes, rate."""

    def __init__(self, what: str, every: float = 10.0):
        self.what, self.every = what, every
        self.start = self.last = time.monotonic()
        self.bytes = 0

    def update(self, n: int) -> None:
        self.bytes += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            log.info("%s: %.1f MB, %.1f MB/s", self.what, self.bytes / 1e6, self.bytes / 1e6 / (now - self.start))


def shard_path(directory: str | os.PathLike, i: int | str) -> Path:
    """Shard i of a directory of shards (`i` may be the 5-digit name Snakemake's wildcard holds)."""
    return Path(directory) / f"part-{int(i):05d}.txt"


def shard_paths(directory: str | os.PathLike, shards: int) -> list[Path]:
    """The shard files of a directory of `shards` shards."""
    return [shard_path(directory, i) for i in range(shards)]


def write_sample(paths, out, max_bytes: int) -> dict:
    """The first documents of `paths` up to `max_bytes`, into one file (atomically)."""
    docs = read_sample(paths, max_bytes)
    write_lines(out, docs)
    return {"documents": len(docs), "bytes": sum(len(d.encode("utf-8")) for d in docs)}


def corpus_files(paths) -> list[Path]:
    """Corpus files from paths that are files or directories of shards (part-*.txt, in order)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in map(Path, paths):
        out += sorted(p.glob("part-*.txt")) if p.is_dir() else [p]
    return out


def raw_blocks(path, block_bytes: int = 1 << 20) -> Iterator[tuple[bytes, int]]:
    """(bytes, their offset in the file) of a corpus file, about `block_bytes` at a time, each
    ending at a line end (or the end of the file)."""
    with open(path, "rb") as f:
        offset, rest = 0, b""
        while True:
            chunk = f.read(block_bytes)
            data = rest + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            data, rest = data[:cut], data[cut:]
            if data:
                yield data, offset
                offset += len(data)
            if not chunk:
                return


def decode_block(path, data: bytes, offset: int) -> list[str]:
    """The documents of a block of a corpus file: one per line, blank lines skipped; a byte that
    is not UTF-8 is one error naming the file and the byte's offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LangadaptError(f"corpus file {path}: invalid UTF-8 at byte offset {offset + e.start}; "
                             "the file is damaged (remove it to have it rebuilt)") from None
    return [line for line in text.split("\n") if line and not line.isspace()]


def iter_blocks(path, block_bytes: int = 1 << 20) -> Iterator[tuple[list[str], int]]:
    """(documents, their bytes with newlines) of a corpus file, about `block_bytes` at a time:
    one read and one decode per block, not per line (see raw_blocks, decode_block)."""
    for data, offset in raw_blocks(path, block_bytes):
        yield decode_block(path, data, offset), len(data)


def iter_docs(paths) -> Iterator[str]:
    """The documents of corpus files (or directories of shards) in order: one per line, blank
    lines skipped (see iter_blocks)."""
    for path in corpus_files(paths):
        for docs, _ in iter_blocks(path):
            yield from docs


def read_sample(paths, max_bytes: int | None = None) -> list[str]:
    """The first documents of `paths` up to `max_bytes` of UTF-8 text (all of them when None). The
    training shards are hash partitions of the corpus, so their first documents are a
    deterministic random sample of it."""
    out, total = [], 0
    for doc in iter_docs(paths):
        if max_bytes is not None and total >= max_bytes:
            break
        out.append(doc)
        total += len(doc.encode("utf-8"))
    return out


def digest(text: str) -> int:
    """A 64-bit digest of a document: equal documents, equal digests; distinct ones collide with
    probability 2^-64 per pair (about 1e-5 for 20 million documents)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


class DigestSet:
    """The digests seen so far, in an open-addressing hash table of uint64 (0 marks an empty
    slot; a digest of 0 is stored as 1), grown by doubling to stay at most half full."""

    def __init__(self, capacity: int = 1 << 16):
        self.table = np.zeros(1 << max(4, int(capacity - 1).bit_length()), dtype=np.uint64)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, value: int) -> bool:
        """Insert one digest; True when it was new."""
        return bool(self.add_many(np.array([value], dtype=np.uint64))[0])

    def add_many(self, values: np.ndarray) -> np.ndarray:
        """Insert digests in order; a mask of those seen for the first time (a repeat within
        `values` counts as seen after its first occurrence)."""
        values = np.where(values == 0, np.uint64(1), values.astype(np.uint64))
        uniq, first = np.unique(values, return_index=True)
        while 2 * (self.size + len(uniq)) > len(self.table):
            self._grow()
        new = self._insert(uniq)
        mask = np.zeros(len(values), dtype=bool)
        mask[first[new]] = True
        return mask

    def _insert(self, keys: np.ndarray) -> np.ndarray:
        """Insert distinct keys; a mask of those that were not in the table."""
        mask = np.uint64(len(self.table) - 1)
        slot = keys & mask
        new = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        while len(todo):
            at = self.table[slot[todo]]
            found = at == keys[todo]
            empty = at == 0
            # of the keys probing an empty slot, the first per slot claims it; the others probe on
            cand = todo[empty]
            _, winner = np.unique(slot[cand], return_index=True)
            won = cand[winner]
            self.table[slot[won]] = keys[won]
            new[won] = True
            self.size += len(won)
            done = np.zeros(len(keys), dtype=bool)
            done[todo[found]] = True
            done[won] = True
            todo = todo[~done[todo]]
            slot[todo] = (slot[todo] + np.uint64(1)) & mask
        return new

    def _grow(self) -> None:
        old = self.table[self.table != 0]
        self.table = np.zeros(2 * len(self.table), dtype=np.uint64)
        self.size = 0
        for i in range(0, len(old), 1 << 16):  # in slices: the probing temporaries stay small
            self._insert(old[i:i + (1 << 16)])


def shard_of(text_digest: int, shards: int) -> int:
    """The training shard a document goes to: its digest modulo the shard count, so that every
    shard is a uniform random part of the corpus."""
    return (text_digest >> 8) % shards


class ShardWriter:
    """Write documents, one per line, into `paths` (the shards) atomically: every shard appears
    when the block succeeds, none (and no temporary file) when it fails."""

    def __init__(self, paths: list[str | os.PathLike]):
        self.paths = [Path(p) for p in paths]
        self.bytes = [0] * len(self.paths)
        self.docs = [0] * len(self.paths)
        self._stack = contextlib.ExitStack()
        self._files = []

    def __enter__(self):
        for p in self.paths:
            tmp = self._stack.enter_context(atomic_file(p))
            self._files.append(self._stack.enter_context(open(tmp, "w", encoding="utf-8")))
        return self

    def write(self, shard: int, doc: str) -> None:
        self._files[shard].write(doc + "\n")
        self.bytes[shard] += len(doc.encode("utf-8")) + 1
        self.docs[shard] += 1

    def __exit__(self, *exc):
        # each file closes before its temporary is renamed (or removed, on an error)
        return self._stack.__exit__(*exc)

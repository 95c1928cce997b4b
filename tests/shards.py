"""Token shards for tests: documents written as corpus shards and tokenized as the workflow does."""

from __future__ import annotations

from pathlib import Path

from langadapt.core.io import write_lines
from langadapt.data.stream import shard_paths
from langadapt.vocab.tokens import tokenize_shard


def token_shards(tok, docs: list[str], root: Path, shards: int = 1) -> list[Path]:
    """Token shard directories of `docs` split round-robin into `shards` corpus shards."""
    tok.save_pretrained(root / "tokenizer")
    paths = shard_paths(root / "train", shards)
    for i, p in enumerate(paths):
        write_lines(p, docs[i::shards])
    out = [root / "tokens" / f"part-{i:05d}" for i in range(shards)]
    for p, o in zip(paths, out):
        tokenize_shard(root / "tokenizer", p, o)
    return out

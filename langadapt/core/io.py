"""Atomic outputs and the small readers and writers every stage uses."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

# what atomic_dir (mkdtemp's 8 random characters) and atomic_file leave beside an output `name`
# when the process dies before its rename
_TEMP_SUFFIX = re.compile(r"tmp|[a-z0-9_]{8}")


def stale_siblings(output: str | os.PathLike) -> list[Path]:
    """The temporary siblings of `output` (`.name.XXXXXXXX` directories, `.name.tmp` files) that
    a process killed while writing it left behind."""
    out = Path(output)
    if not out.parent.is_dir():
        return []
    prefix = f".{out.name}."
    return sorted(p for p in out.parent.iterdir()
                  if p.name.startswith(prefix) and _TEMP_SUFFIX.fullmatch(p.name[len(prefix):]))


def sweep_stale(outputs) -> list[Path]:
    """Remove what a killed earlier run of a job left beside its outputs (a job owns these names:
    nothing else writes them). Returns what was removed."""
    removed = []
    for out in outputs:
        for p in stale_siblings(out):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a temporary directory that replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """Yield a `.name.tmp` beside `path` that replaces it on success and is removed on any failure
    (an interrupt included), so a failed write leaves neither a partial file nor a stray temp file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in blocks (the manifest, pinned downloads)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_json(path: str | os.PathLike, obj, sort_keys: bool = False) -> None:
    """Atomically; sort_keys as transformers writes its configs."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n"  # before the file exists: a bad object leaves none
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_lines(path: str | os.PathLike) -> list[str]:
    """Documents of a corpus file: one per line, blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def write_lines(path: str | os.PathLike, lines) -> None:
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")



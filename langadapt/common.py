"""Small helpers shared by every stage: threads, seeds, logs, atomic outputs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger("langadapt")


def setup(threads: int = 1, seed: int = 0, log_file: str | None = None) -> None:
    """Configure a stage: torch threads, seeds, and logging to the rule's log file."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
    seed_everything(seed)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def write_json(path: str | os.PathLike, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_lines(path: str | os.PathLike) -> list[str]:
    """Documents of a corpus file: one per line, blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def write_lines(path: str | os.PathLike, lines) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    tmp.replace(path)


@contextlib.contextmanager
def stage(log_file: str | None = None, threads: int = 1, seed: int = 0):
    """Run one workflow stage: set up threads/seeds/logging; bad input ends it with one line."""
    from .errors import LangadaptError

    setup(threads=threads, seed=seed, log_file=log_file)
    try:
        yield
    except LangadaptError as err:
        log.error("%s", err)
        print(f"langadapt: error: {err}", file=sys.stderr)
        sys.exit(1)

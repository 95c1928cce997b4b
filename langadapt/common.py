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


# glibc returns every freed allocation above its mmap threshold (128 KB, raised dynamically
# only up to a point) to the kernel, and a training step faults the same tensors in again: 5
# of a CPT job's 26 s were kernel time. A 32 MB threshold and a 1 GB trim threshold keep them
# in the heap: CPT 1.4x faster at the same peak memory. GPU jobs are unaffected.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"


def keep_freed_tensors() -> None:
    """Set MALLOC_TUNABLES for the processes started from here on (a user's own
    GLIBC_TUNABLES wins); glibc reads it only when a process starts."""
    os.environ.setdefault("GLIBC_TUNABLES", MALLOC_TUNABLES)


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


@contextlib.contextmanager
def _atomic_file(path: str | os.PathLike):
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


def write_json(path: str | os.PathLike, obj, sort_keys: bool = False) -> None:
    """Atomically; sort_keys as transformers writes its configs."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n"  # before the file exists: a bad object leaves none
    with _atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_lines(path: str | os.PathLike) -> list[str]:
    """Documents of a corpus file: one per line, blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def write_lines(path: str | os.PathLike, lines) -> None:
    with _atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def stage_name(log_file: str | None) -> str:
    """What a stage is, for its one-line messages: its log path below `logs/` (rule/wildcards)."""
    if not log_file:
        return Path(sys.argv[0]).stem or "stage"
    parts = Path(log_file).with_suffix("").parts
    return "/".join(parts[len(parts) - parts[::-1].index("logs"):]) if "logs" in parts else Path(log_file).stem


def _terminated(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def stage(log_file: str | None = None, threads: int = 1, seed: int = 0):
    """Run one workflow stage: set up threads/seeds/logging; bad input ends it with one line, an
    interrupt (Ctrl-C, SIGINT to the job's process group, or SIGTERM as from scancel or a time
    limit) with one line and exit status 130, after the atomic writers have removed their
    temporary outputs on the way up (a plain SIGTERM would kill the process without cleanup)."""
    import signal
    import threading

    from .errors import LangadaptError

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        setup(threads=threads, seed=seed, log_file=log_file)
        yield
    except LangadaptError as err:
        log.error("%s", err)
        print(f"langadapt: error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        what = stage_name(log_file)
        log.error("interrupted: %s", what)
        print(f"langadapt: interrupted: {what}", file=sys.stderr)
        sys.exit(130)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)

"""The stage runner: threads, seeds and logging of a job, its one-line errors and interrupts."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import torch

from langadapt.core.errors import LangadaptError
from langadapt.core.io import sweep_stale

log = logging.getLogger("langadapt")


def setup(threads: int = 1, seed: int = 0, log_file: str | None = None) -> None:
    """Configure a stage: torch threads, seeds, and logging to the rule's log file."""
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
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stage_name(log_file: str | None) -> str:
    """What a stage is, for its one-line messages: its log path below `logs/` (rule/wildcards)."""
    if not log_file:
        return Path(sys.argv[0]).stem or "stage"
    parts = Path(log_file).with_suffix("").parts
    return "/".join(parts[len(parts) - parts[::-1].index("logs"):]) if "logs" in parts else Path(log_file).stem


def _terminated(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def stage(log_file: str | None = None, threads: int = 1, seed: int = 0, outputs=()):
    """Run one workflow stage: set up threads/seeds/logging and remove what a killed earlier run
    left beside `outputs` (kill -9 and OOM kills skip every cleanup); bad input ends it with one
    line, an interrupt (Ctrl-C, SIGINT to the job's process group, or SIGTERM as from scancel or
    a time limit) with one line and exit status 130, after the atomic writers have removed their
    temporary outputs on the way up (a plain SIGTERM would kill the process without cleanup)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        setup(threads=threads, seed=seed, log_file=log_file)
        for path in sweep_stale(outputs):
            log.info("removed %s, left by an earlier run of this job that was killed", path)
        yield
    except LangadaptError as err:
        log.error("%s", err)
        print(f"langadapt: error: {err}", file=sys.stderr)
        sys.exit(1)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f" writing {err.filename}" if err.filename else ""
        msg = (f"{stage_name(log_file)}: the disk is full{where} ({os.strerror(err.errno)}); its partial "
               "outputs are removed: free space and run it again")
        log.error("%s", msg)
        print(f"langadapt: error: {msg}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        what = stage_name(log_file)
        log.error("interrupted: %s", what)
        print(f"langadapt: interrupted: {what}", file=sys.stderr)
        sys.exit(130)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def snakemake_job(smk, seed: int = 0):
    """The stage of a Snakemake job's script: its log, threads and outputs from the `snakemake`
    object the script is given."""
    return stage(smk.log[0], smk.threads, seed, outputs=list(smk.output))

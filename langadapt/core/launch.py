"""Multi-process training: a job given several GPUs (or CPU processes) runs its stage under torchrun.

The Snakemake job stays one process; when it asks for more than one, it re-runs the same
library function in `n` torchrun workers (NCCL on GPUs, gloo on CPU). The Hugging Face Trainer
picks the process group up from the environment and trains data-parallel; rank 0 alone writes
the output directory.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from langadapt.core.errors import LangadaptError
from langadapt.core.stage import snakemake_job, stage

log = logging.getLogger(__name__)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def processes(resources) -> int:
    """Training processes for a job: one per GPU, or the `processes` resource (CPU data
    parallelism, e.g. to test the multi-process path), whichever is larger."""
    get = resources.get if hasattr(resources, "get") else lambda k, d=None: getattr(resources, k, d)
    return max(int(get("gpu", 0) or 0), int(get("processes", 1) or 1))


@contextmanager
def output_dir(path, atomic_dir):
    """Rank 0: the atomic output directory; other ranks: a scratch directory that is discarded."""
    if is_main_process():
        with atomic_dir(path) as tmp:
            yield tmp
    else:
        with tempfile.TemporaryDirectory(prefix=".rank-") as tmp:
            yield Path(tmp)


def _resolve(fn):
    """A library function, given as itself or as `module:function` (how a worker is told it)."""
    if callable(fn):
        return fn
    mod, name = fn.split(":")
    return getattr(importlib.import_module(mod), name)


# a Python exception's last line, as a traceback ends (`ValueError: ...`, `torch.OutOfMemoryError: ...`)
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\w*: ")


def _failure(fn: str, nprocs: int, done) -> str:
    """One line for failed torchrun workers: a worker's own langadapt error as a single process
    would have said it, else the first worker's exception (torchrun's own summary skipped);
    torchrun's whole output goes to the log."""
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    ours = [line.removeprefix("langadapt: error: ") for line in lines if line.startswith("langadapt: error:")]
    if ours:
        return ours[0]
    log.error("torchrun workers failed (exit %d); their output:\n%s", done.returncode, "\n".join(lines[-200:]))
    raised = [line for line in lines if _EXCEPTION.match(line) and "ChildFailedError" not in line]
    return f"{fn}: {nprocs} torchrun workers failed (exit {done.returncode}): {(raised or lines or ['?'])[0]}"


def run(fn, kwargs: dict, nprocs: int, log_file=None, threads: int = 1, seed: int = 0):
    """`fn(**kwargs)` (a function or `module:function`), in this process when nprocs is 1, else in
    nprocs torchrun workers (their logs go to log_file.rank{r}); a failed worker fails the job in one line."""
    if nprocs <= 1:
        return _resolve(fn)(**kwargs)
    if callable(fn):
        fn = f"{fn.__module__}:{fn.__qualname__}"
    with tempfile.TemporaryDirectory(prefix="langadapt-launch-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"fn": fn, "kwargs": kwargs, "log_file": str(log_file) if log_file else None,
                                    "threads": max(1, threads // nprocs), "seed": seed}))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nprocs}",
               "-m", "langadapt.core.launch", str(spec)]
        log.info("launching %d processes: %s", nprocs, " ".join(cmd))
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, threads // nprocs))}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise LangadaptError(_failure(fn, nprocs, done))
        log.info("%d processes done", nprocs)


def job(smk, fn, **kwargs):
    """A Snakemake training job's whole script: `fn(**kwargs)` as one stage (its log, threads
    and seed), on as many processes as the job's resources ask for."""
    seed = smk.params.seed
    with snakemake_job(smk, seed):
        return run(fn, kwargs, processes(smk.resources), log_file=smk.log[0], threads=smk.threads, seed=seed)


def _worker(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    rank = int(os.environ.get("RANK", "0"))
    log_file = f"{spec['log_file']}.rank{rank}" if spec["log_file"] else None
    with stage(log_file, spec["threads"], spec["seed"]):
        _resolve(spec["fn"])(**spec["kwargs"])
        _leave_process_group()


def _leave_process_group() -> None:
    """End a worker as torch asks: wait for every rank (rank 0 still writing the output must not
    find its peers gone), then destroy the process group the Trainer opened."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    _worker(sys.argv[1])

"""Multi-process training: a job given several GPUs (or CPU processes) runs its stage under torchrun.

The Snakemake job stays one process; when it asks for more than one, it re-runs the same
library function in `n` torchrun workers per node (NCCL on GPUs, gloo on CPU). The Hugging Face
Trainer picks the process group up from the environment and trains data parallel (`ddp`) or
sharded (`fsdp`), as the job's resources say (Setup, told to the workers as LANGADAPT_TRAINING);
rank 0 alone writes the output directory. A job over several nodes (`nodes` resource, a SLURM
allocation) starts one torchrun per node with srun, which meet at a rendezvous on the first node.
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
from dataclasses import asdict, dataclass
from pathlib import Path

from langadapt.core.errors import LangadaptError
from langadapt.core.stage import snakemake_job, stage

log = logging.getLogger(__name__)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass(frozen=True)
class Setup:
    """How a training job's processes train, from its resources; every worker is told it.

    parallel: `ddp` (a whole model per process) or `fsdp` (sharded, FSDP2);
    activation_checkpointing: recompute each layer's activations in the backward pass;
    precision: `fp32`, or `bf16` (float32 weights and optimizer, bfloat16 compute)."""

    parallel: str = "ddp"
    activation_checkpointing: bool = False
    precision: str = "fp32"


CHOICES = {"parallel": ("ddp", "fsdp"), "precision": ("fp32", "bf16")}
SETUP_ENV = "LANGADAPT_TRAINING"


def setup() -> Setup:
    """This training process's Setup (the default when no job set one)."""
    raw = os.environ.get(SETUP_ENV)
    return Setup(**json.loads(raw)) if raw else Setup()


def sharded() -> bool:
    """Whether this process trains a sharded model: fsdp with peers (one process has nothing to shard over)."""
    return setup().parallel == "fsdp" and world_size() > 1


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def gpus(resources) -> int:
    """A job's GPUs per node: its `gpu` resource, or a multi-node job's `gres` (gpu[:type]:N)."""
    gres = re.fullmatch(r"gpu(?::[\w.-]+)?:(\d+)", str(_resource(resources, "gres", "")))
    return int(gres.group(1)) if gres else int(_resource(resources, "gpu", 0) or 0)


def processes(resources) -> int:
    """Training processes per node for a job: one per GPU, or the `processes` resource (CPU data
    parallelism, e.g. to test the multi-process path), whichever is larger."""
    return max(gpus(resources), int(_resource(resources, "processes", 1) or 1))


def _resource(resources, key, default):
    get = resources.get if hasattr(resources, "get") else lambda k, d=None: getattr(resources, k, d)
    value = get(key, default)
    return default if value is None else value


def job_setup(resources) -> Setup:
    """A job's Setup from its resources (the config's resources.gpu_rules or a profile's
    set-resources); an unknown value is one line."""
    out = Setup(parallel=str(_resource(resources, "parallel", "ddp")),
                activation_checkpointing=bool(int(_resource(resources, "activation_checkpointing", 0))),
                precision=str(_resource(resources, "precision", "fp32")))
    for key, allowed in CHOICES.items():
        if getattr(out, key) not in allowed:
            raise LangadaptError(f"resource {key}={getattr(out, key)!r} is unknown; choose {' or '.join(allowed)}")
    return out


def nodes(resources) -> int:
    """The nodes a job's processes spread over (`nodes` resource; SLURM allocates them)."""
    return int(_resource(resources, "nodes", 1))


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


# the prefix torchrun puts before a worker's lines (`[rank1]: `)
_RANK = re.compile(r"^\[rank\d+\]:\s?")


def _failure(fn: str, nprocs: int, done) -> str:
    """One line for failed torchrun workers: a worker's own langadapt error as a single process
    would have said it, else the first worker's exception (torchrun's own summary skipped);
    torchrun's whole output goes to the log."""
    lines = [_RANK.sub("", line).strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    ours = [line.removeprefix("langadapt: error: ") for line in lines if line.startswith("langadapt: error:")]
    if ours:
        return ours[0]
    log.error("torchrun workers failed (exit %d); their output:\n%s", done.returncode, "\n".join(lines[-200:]))
    raised = [line for line in lines if _EXCEPTION.match(line) and "ChildFailedError" not in line]
    return f"{fn}: {nprocs} torchrun workers failed (exit {done.returncode}): {(raised or lines or ['?'])[0]}"


def torchrun_command(spec, nprocs: int, nodes: int = 1, gpus: int = 0, env=os.environ) -> list[str]:
    """The command that starts a job's workers: one torchrun on this machine, or, inside a SLURM
    allocation, one torchrun per node started by srun (`--overlap`: within the job step that
    runs this job), meeting at a c10d rendezvous on the allocation's first node, named by the
    job's id, each node's torchrun given its `gpus`. `nodes` over 1 needs that allocation
    (profiles/slurm asks sbatch for the nodes)."""
    torchrun = [sys.executable, "-m", "torch.distributed.run"]
    worker = ["-m", "langadapt.core.launch", str(spec)]
    job_id = env.get("SLURM_JOB_ID")
    if not job_id:
        if nodes > 1:
            raise LangadaptError(f"resource nodes={nodes}: a job over several nodes runs in a SLURM allocation "
                                 "(snakemake --profile profiles/slurm); here it has this machine only")
        return [*torchrun, "--standalone", f"--nproc-per-node={nprocs}", *worker]
    head = first_host(env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or "localhost")
    port = 29500 + int(job_id) % 10000
    srun = ["srun", "--overlap", f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1",
            *([f"--gres=gpu:{gpus}"] if gpus else []), "--kill-on-bad-exit=1"]
    return [*srun, *torchrun, f"--nnodes={nodes}", f"--nproc-per-node={nprocs}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint={head}:{port}", f"--rdzv-id=langadapt-{job_id}", *worker]


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list (`gpu[003-005,009],login1` -> gpu003), as
    `scontrol show hostnames` would name it first."""
    m = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not m:
        raise LangadaptError(f"SLURM node list {nodelist!r} names no host")
    prefix, ranges = m.groups()
    return prefix + (ranges.split(",")[0].split("-")[0] if ranges else "")


def run(fn, kwargs: dict, nprocs: int, log_file=None, threads: int = 1, seed: int = 0, setup: Setup = Setup(),
        nodes: int = 1, gpus: int = 0):
    """`fn(**kwargs)` (a function or `module:function`), in this process when one process on one
    node is asked for, else in nprocs torchrun workers per node (their logs go to
    log_file.rank{r}), every process training as `setup` says; a failed worker fails the job in
    one line."""
    told = {SETUP_ENV: json.dumps(asdict(setup))}
    if nprocs * nodes <= 1:
        with _environment(told):
            return _resolve(fn)(**kwargs)
    if callable(fn):
        fn = f"{fn.__module__}:{fn.__qualname__}"
    # workers on other nodes read the spec: beside the log (a shared filesystem, as SLURM jobs' are)
    where = Path(log_file).parent if log_file and os.environ.get("SLURM_JOB_ID") else None
    with tempfile.TemporaryDirectory(prefix=".langadapt-launch-", dir=where) as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"fn": fn, "kwargs": kwargs, "log_file": str(log_file) if log_file else None,
                                    "threads": max(1, threads // nprocs), "seed": seed}))
        cmd = torchrun_command(spec, nprocs, nodes, gpus)
        log.info("launching %d processes on %d node(s), %s: %s", nprocs * nodes, nodes, setup.parallel, " ".join(cmd))
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, threads // nprocs)), **told}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise LangadaptError(_failure(fn, nprocs * nodes, done))
        log.info("%d processes done", nprocs * nodes)


@contextmanager
def _environment(values: dict):
    """`values` in os.environ for the duration (a stage run in this process reads them as workers do)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def job(smk, fn, **kwargs):
    """A Snakemake training job's whole script: `fn(**kwargs)` as one stage (its log, threads
    and seed), on as many processes and nodes as the job's resources ask for, data parallel or
    sharded as its `parallel` resource says."""
    seed = smk.params.seed
    with snakemake_job(smk, seed):
        res = smk.resources
        return run(fn, kwargs, processes(res), log_file=smk.log[0], threads=smk.threads, seed=seed,
                   setup=job_setup(res), nodes=nodes(res), gpus=gpus(res))


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

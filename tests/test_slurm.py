"""profiles/slurm: its dry run puts GPU jobs in the GPU partition, and on a real one-node SLURM that
tests/slurm_node.sh starts on this machine, the smoke config runs through it (every job but the
localrules an sbatch job), writing what the local smoke run writes, while a GPU job's sbatch call
asks for the config's GPUs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from snakemake_run import ROOT, SNAKEMAKE, smoke_config

pytestmark = pytest.mark.workflow

NODE = ROOT / "tests" / "slurm_node.sh"
PROFILE = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
GPU_PARTITION = {rule for rule, res in PROFILE["set-resources"].items() if res.get("slurm_partition") == "gpu"}
# the test node has no accounting database, so sacct (the plugin's default wherever it is installed)
# cannot answer; squeue can, as slurm_node.sh keeps finished jobs listed for an hour (MinJobAge)
SLURM_ARGS = ["--profile", "profiles/slurm", "--slurm-status-command", "squeue",
              "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs"]
# what runs where snakemake runs: corpus, downloads, task and data files, the report
LOCALRULES = {"corpus_deb", "corpus_source", "corpus_split", "corpus_parallel", "corpus_stats", "overlap",
              "eval_tasks", "instruct_tune_data", "fetch_translator", "report"}
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


def gpu_config(tmp: Path, results: Path | None = None, **changes) -> Path:
    """The smoke config with a GPU per model job and other resources than the schema's defaults."""
    cfg = yaml.safe_load(smoke_config(tmp, **changes).read_text())
    cfg["resources"] = {"gpu_rules": {"gpu": 1, "cpus_per_gpu": 4, "mem_mb": 6000, "runtime": 90}}
    if results:
        cfg["results_dir"] = str(results)
    path = tmp / "gpu.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path


def test_profile_dry_run_puts_gpu_jobs_in_gpu_partition(tmp_path):
    """With gpu 1 in the config, every job of a rule with a gpu resource asks for one, with the
    config's cpus_per_gpu, memory and time, in the profile's GPU partition; no other job goes there.
    The translator is trained here (not fetched), so that its rule is in the DAG too."""
    cfg = gpu_config(tmp_path, corpus={"parallel": {"enabled": True}},
                     translate={"backend": "causal_lm", "model": "train"})
    out = subprocess.run([SNAKEMAKE, "-n", "--profile", "profiles/slurm", "--configfile", str(cfg)],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", out, re.MULTILINE)
    assert len(jobs) > 80
    gpu_rules = set()
    for rule, resources in jobs:
        res = dict(kv.split("=", 1) for kv in resources.split(", "))
        if "gpu" in res:
            gpu_rules.add(rule)
            assert res.get("slurm_partition") == "gpu", (rule, res)
            if res["gpu"] == "1":
                assert (res["cpus_per_gpu"], res["mem_mb"], res["runtime"]) == ("4", "6000", "90"), (rule, res)
        else:
            assert "slurm_partition" not in res, (rule, res)
    # the smoke config has jobs of every rule in the profile's list: it is exactly those with a gpu
    # resource, but for the rules of evaluate.one_job_per: stage (the smoke config evaluates per model)
    per_stage = {r for r in GPU_PARTITION if r.startswith("evaluate_")}
    assert per_stage == {f"evaluate_{s}" for s in ("source", "init", "cpt", "lep", "calibrated", "instruct_tuned",
                                                   "clo")}
    assert gpu_rules == GPU_PARTITION - per_stage


def run(cmd: list[str], env: dict[str, str], timeout: float, log: Path) -> subprocess.CompletedProcess:
    """Run cmd in the repository root, its output in log; if it outlives timeout (or the test is
    interrupted), interrupt it as Ctrl-C would, so that snakemake cancels its SLURM jobs."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except BaseException as err:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            if isinstance(err, subprocess.TimeoutExpired):
                pytest.fail(f"{' '.join(cmd[:3])} … still running after {timeout:.0f} s; see {log}")
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, log.read_text())


@pytest.fixture(scope="module")
def slurm_node(tmp_path_factory):
    """A one-node SLURM for this module; skipped where it cannot be had (no root, no apt-get)."""
    d = tmp_path_factory.mktemp("slurm_node")
    try:
        t0 = time.monotonic()
        proc = subprocess.run([str(NODE), "start", str(d)], capture_output=True, text=True, timeout=1800)
        if proc.returncode == 77:
            pytest.skip(proc.stderr.strip().splitlines()[-1])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(f"slurm node up in {time.monotonic() - t0:.1f} s")
        # the jobs run this checkout's library, wherever the venv's editable install points
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        yield d, env
    finally:
        subprocess.run([str(NODE), "stop", str(d)], timeout=300)


def squeue(env, jobids) -> dict[str, dict[str, str]]:
    """SLURM's own record of jobs, finished ones included: state, partition, memory, time limit, GRES."""
    fields = ["JobID", "State", "Partition", "MinMemory", "TimeLimit", "tres-per-node"]
    out = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(jobids), "-O", ",".join(f + ":|" for f in fields)],
                         env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = [dict(zip(fields, line.split("|"))) for line in out.splitlines()]
    return {r["JobID"]: r for r in rows}


def jobs_by_rule(benchmarks: Path) -> Counter:
    """Jobs that ran, per rule: each writes one benchmark, benchmarks/{rule}[/{wildcards}].tsv."""
    return Counter(p.relative_to(benchmarks).parts[0].removesuffix(".tsv") for p in benchmarks.rglob("*.tsv"))


@pytest.fixture(scope="module")
def slurm_smoke(slurm_node, tmp_path_factory):
    d, env = slurm_node
    tmp = tmp_path_factory.mktemp("slurm_smoke")
    cfg = smoke_config(tmp)
    t0 = time.monotonic()
    proc = run([SNAKEMAKE, *SLURM_ARGS, "--slurm-logdir", str(tmp / "slurm_logs"), "--configfile", str(cfg)],
               env, 45 * 60, tmp / "snakemake.log")
    print(f"smoke through SLURM: {time.monotonic() - t0:.0f} s")
    assert proc.returncode == 0, proc.stdout[-5000:]
    return tmp, tmp / "results" / "smoke", proc.stdout, env


@pytest.mark.slurm
def test_slurm_jobs_went_through_sbatch(slurm_smoke):
    """Each job but the localrules' was an sbatch job that SLURM ran to completion, in the profile's
    partition, with the config's memory and time; the localrules' jobs ran here."""
    tmp, res, out, env = slurm_smoke
    submitted = dict(SUBMITTED.findall(out))
    rule_of = {}
    for jobid, log in submitted.items():
        # the plugin keeps each job's log as {slurm_logdir}/rule_{rule}/{wildcards}/{jobid}.log
        rel = Path(log).relative_to(tmp / "slurm_logs")
        assert Path(log).is_file() and rel.name == f"{jobid}.log", log
        rule_of[jobid] = rel.parts[0].removeprefix("rule_")
    ran = jobs_by_rule(res / "benchmarks")
    assert Counter(rule_of.values()) == Counter({r: n for r, n in ran.items() if r not in LOCALRULES})
    # the smoke config has no parallel corpus and translates with the dictionary (no translator model)
    assert LOCALRULES & ran.keys() == LOCALRULES - {"corpus_parallel", "fetch_translator"}
    assert len(submitted) > 60
    jobs = squeue(env, list(submitted))
    assert jobs.keys() == submitted.keys()
    for jobid, job in jobs.items():
        rule = rule_of[jobid]
        assert job["State"] == "COMPLETED", (rule, job)
        assert job["Partition"] == ("gpu" if rule in GPU_PARTITION else "cpu"), (rule, job)
        # the smoke config's resources are the schema's: gpu_rules 8000 MB and 120 min, light_rules
        # 4000 MB and 30 min, and no GPU
        model_rule = rule in GPU_PARTITION | {"transfer", "lep"}
        assert (job["MinMemory"], job["TimeLimit"]) == (("8000M", "2:00:00") if model_rule else ("4000M", "30:00"))
        assert "gpu" not in job["tres-per-node"], (rule, job)


@pytest.mark.slurm
def test_slurm_gpu_job_asks_sbatch_for_gpus(slurm_smoke, tmp_path):
    """A model job under a config with gpu 1 goes to sbatch with --gpus=1 and the config's
    cpus_per_gpu, memory and time, in the GPU partition; this node has no GPU, so SLURM refuses it."""
    _, res, _, env = slurm_smoke
    shutil.copytree(res, tmp_path / "results" / "smoke", symlinks=True)
    cfg = gpu_config(tmp_path, tmp_path / "results")
    base = tmp_path / "results" / "smoke" / "models" / "source" / "base"
    proc = run([SNAKEMAKE, str(base), "--forcerun", "bootstrap_base", *SLURM_ARGS,
                "--slurm-logdir", str(tmp_path / "slurm_logs"), "--configfile", str(cfg)], env, 600, tmp_path / "snakemake.log")
    assert proc.returncode != 0
    assert not SUBMITTED.search(proc.stdout)
    call = re.search(r"SLURM sbatch failed\. The error message was '(.*)'\.\n\s+sbatch call:\n\s+(.*)", proc.stdout)
    assert call, proc.stdout[-3000:]
    error, sbatch = call.groups()
    assert "Invalid generic resource (gres) specification" in error
    flags = sbatch.split(" --wrap=")[0]
    for flag in ("--gpus=1", "--cpus-per-gpu=4", "--mem 6000", "-t 90", "-p gpu"):
        assert f" {flag}" in flags, (flag, flags)
    assert "--cpus-per-task" not in flags


@pytest.mark.slurm
def test_slurm_results_match_local_run(slurm_smoke, smoke):
    """The SLURM run wrote what the local smoke run wrote (as that run left it), byte for byte:
    the two reports' manifests (sha256 of every result file) are the same."""
    from langadapt.eval.manifest import read_manifest

    tmp, res, _, _ = slurm_smoke
    local_tmp, _ = smoke
    a = read_manifest(local_tmp / "as_run" / "smoke" / "report" / "manifest.tsv")
    b = read_manifest(res / "report" / "manifest.tsv")
    differ = sorted(f for f in a.keys() | b.keys() if a.get(f) != b.get(f))
    assert not differ, f"{len(differ)} result files differ from the local run: {differ[:10]}"


@pytest.mark.slurm
def test_slurm_multi_node_job_asks_sbatch_for_its_nodes_and_gpus_per_node(slurm_smoke, tmp_path):
    """A training job of 2 nodes with 4 GPUs each (FSDP): sbatch --nodes=2 and --gres=gpu:4 (per
    node; --gpus would count the whole job's); this one-node machine has no GPU, so SLURM refuses."""
    _, res, _, env = slurm_smoke
    shutil.copytree(res, tmp_path / "results" / "smoke", symlinks=True)
    cfg = gpu_config(tmp_path, tmp_path / "results")
    data = yaml.safe_load(cfg.read_text())
    data["resources"]["gpu_rules"] |= {"gpu": 4, "nodes": 2, "parallel": "fsdp"}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    out = tmp_path / "results" / "smoke" / "cpt" / "bpe" / "mean"
    proc = run([SNAKEMAKE, str(out), "--forcerun", "pretrain", *SLURM_ARGS,
                "--slurm-logdir", str(tmp_path / "slurm_logs"), "--configfile", str(cfg)], env, 600,
               tmp_path / "snakemake.log")
    assert proc.returncode != 0 and not SUBMITTED.search(proc.stdout)
    call = re.search(r"SLURM sbatch failed\. The error message was '(.*)'\.\n\s+sbatch call:\n\s+(.*)", proc.stdout)
    assert call, proc.stdout[-3000:]
    flags = call.group(2).split(" --wrap=")[0]
    for flag in ("--nodes=2", "--gres=gpu:4", "-p gpu"):
        assert f" {flag}" in flags, (flag, flags)
    assert "--gpus" not in flags


@pytest.mark.slurm
def test_slurm_fsdp_cpt_runs_its_torchrun_through_srun_on_one_node(slurm_smoke, tmp_path):
    """The multi-node path with one node, for real: the CPT job (2 processes, FSDP) inside its
    sbatch job starts torchrun by srun with the rendezvous on its node; rank 0 writes the model."""
    import torch
    from safetensors.torch import load_file

    _, res, _, env = slurm_smoke
    new = tmp_path / "results" / "smoke"
    shutil.copytree(res, new, symlinks=True)
    cfg = yaml.safe_load(smoke_config(tmp_path).read_text())
    cfg["results_dir"] = str(tmp_path / "results")
    cfg["resources"] = {"gpu_rules": {"processes": 2, "parallel": "fsdp"}}
    (tmp_path / "fsdp.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    out = new / "cpt" / "bpe" / "mean"
    proc = run([SNAKEMAKE, str(out), "--forcerun", "pretrain", *SLURM_ARGS, "--slurm-logdir",
                str(tmp_path / "slurm_logs"), "--configfile", str(tmp_path / "fsdp.yaml")], env, 900,
               tmp_path / "snakemake.log")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert len(SUBMITTED.findall(proc.stdout)) == 1
    log = (new / "logs" / "pretrain" / "bpe" / "mean.log").read_text()
    launched = re.search(r"launching 2 processes on 1 node\(s\), fsdp: (.*)", log).group(1).split()
    assert launched[:6] == ["srun", "--overlap", "--nodes=1", "--ntasks=1", "--ntasks-per-node=1",
                            "--kill-on-bad-exit=1"]
    assert "--nnodes=1" in launched and "--nproc-per-node=2" in launched and "--rdzv-backend=c10d" in launched
    metrics = json.loads((out / "cpt_metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["parallel"] == "fsdp"
    assert (new / "logs" / "pretrain" / "bpe" / "mean.log.rank1").exists()
    init, cpt = load_file(new / "init" / "bpe" / "mean" / "model.safetensors"), load_file(out / "model.safetensors")
    assert init.keys() == cpt.keys()
    for name in init:
        assert torch.equal(init[name], cpt[name]) is (name not in metrics["trainable"]), name

"""Reliability through the workflow: resume after a crash, two clean runs alike, two experiments at once."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from safetensors.torch import load_file
from snakemake_run import ROOT, SNAKEMAKE, smoke_config

pytestmark = pytest.mark.workflow


def _snakemake(cfg, target):
    return [SNAKEMAKE, str(target), "--cores", "2", "--configfile", str(cfg)]


def test_killed_cpt_job_resumes_from_its_last_checkpoint_to_the_same_embeddings(smoke, tmp_path):
    """kill -9 of the CPT job mid-run; the next `snakemake` resumes from the last checkpoint, not
    step 0, and ends with the weights and loss log of an unbroken run (CPU, same seed)."""
    _, res = smoke
    cfg = smoke_config(tmp_path, pretrain={"max_steps": 150, "save_steps": 10})
    new = tmp_path / "results" / "smoke"
    shutil.copytree(res, new, symlinks=True)  # the smoke run's inputs of CPT, mtimes kept
    out, ck = new / "cpt" / "bpe" / "mean", new / "checkpoints" / "pretrain" / "bpe" / "mean"
    shutil.rmtree(out)
    subprocess.run(_snakemake(cfg, out), cwd=ROOT, check=True, capture_output=True)
    assert not ck.exists()  # removed once CPT finished
    ref = tmp_path / "unbroken"
    out.rename(ref)

    proc = subprocess.Popen(_snakemake(cfg, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(ck.glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None and time.time() < deadline, "CPT ended before its first checkpoint"
        time.sleep(0.05)
    job = psutil.Process(proc.pid).children(recursive=True)
    for p in job:
        p.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=120) != 0
    assert not out.exists(), "a killed job left its output"
    saved = sorted(int(c.name.split("-")[1]) for c in ck.glob("checkpoint-*"))
    assert saved and max(saved) < 150

    subprocess.run(_snakemake(cfg, out), cwd=ROOT, check=True, capture_output=True)
    log = (new / "logs" / "pretrain" / "bpe" / "mean.log").read_text()
    step = int(re.search(r"resuming from \S*checkpoint-(\d+)", log).group(1))
    assert step in saved and step >= 10
    a, b = load_file(out / "model.safetensors"), load_file(ref / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name
    assert (out / "loss.csv").read_text() == (ref / "loss.csv").read_text()
    assert not ck.exists()


def test_a_killed_training_job_leaves_no_orphan_once_it_runs_again(smoke, tmp_path):
    """kill -9 of an instruct_tune job mid-training leaves its temporary output directory
    (`.conversion.XXXXXXXX`, the model being written) beside the missing output: Snakemake knows
    only the output. The next run of the job removes it when the job starts, says so in the job's
    log, and writes the model an unbroken run writes."""
    _, res = smoke
    train = {"lr": 0.001, "batch_size": 8, "max_steps": 400, "logging_steps": 1}
    cfg = smoke_config(tmp_path, instruct_tune={"train": train})
    new = tmp_path / "results" / "smoke"
    shutil.copytree(res, new, symlinks=True)  # the smoke run's inputs of instruct_tune, mtimes kept
    out = new / "instruct_tuned" / "bpe" / "mean" / "conversion"
    shutil.rmtree(out)
    subprocess.run(_snakemake(cfg, out), cwd=ROOT, check=True, capture_output=True)
    ref = tmp_path / "unbroken"
    out.rename(ref)

    orphans = lambda: sorted(out.parent.glob(".conversion.*"))  # noqa: E731
    proc = subprocess.Popen(_snakemake(cfg, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(out.parent.glob(".conversion.*/trainer")):  # training has started writing
        assert proc.poll() is None and time.time() < deadline, "instruct_tune ended before training"
        time.sleep(0.05)
    for p in psutil.Process(proc.pid).children(recursive=True):
        p.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=120) != 0
    assert not out.exists()
    left = orphans()
    assert len(left) == 1 and left[0].is_dir()  # what the sweep is for

    subprocess.run(_snakemake(cfg, out), cwd=ROOT, check=True, capture_output=True)
    assert orphans() == []
    log = (new / "logs" / "instruct_tune" / "bpe" / "mean" / "conversion.log").read_text()
    assert f"removed {left[0]}" in log
    a, b = load_file(out / "model.safetensors"), load_file(ref / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_the_smoke_run_wrote_only_its_results_and_its_manifest_says_what(smoke):
    """The smoke run left nothing in the repository, and its manifest holds exactly the result
    files that are there, with their sha256 (a second clean run's results are compared with these
    byte for byte in tests/test_slurm.py)."""
    from langadapt.core.io import sha256
    from langadapt.eval.manifest import read_manifest, result_files

    tmp, _ = smoke
    assert (tmp / "new_in_repo").read_text() == ""
    first = tmp / "as_run" / "smoke"  # as the run left it (later tests re-run parts of `smoke`)
    m = read_manifest(first / "report" / "manifest.tsv")
    assert set(m) == set(result_files(first)) - {"report/manifest.tsv"}
    assert all(sha256(first / f) == h for f, h in m.items())
    kinds = {Path(f).suffix for f in m}
    assert {".safetensors", ".json", ".csv", ".png", ".md", ".npz", ".model", ".txt"} <= kinds, kinds
    assert len(m) > 500

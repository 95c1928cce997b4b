"""Reliability through the workflow: a killed CPT job resumes from its checkpoint."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

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

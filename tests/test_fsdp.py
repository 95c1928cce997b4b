"""Sharded training (FSDP2) in two torchrun processes on CPU (gloo): embedding-only CPT ends with
the one-process run's weights and resumes after kill -9 to the same weights; LoRA tuning and CLO
change only what they must; the final model is one ordinary directory written by rank 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch
from safetensors.torch import load_file
from shards import token_shards

from langadapt.core import launch
from langadapt.core.io import write_lines
from langadapt.models.io import load_model, save_model
from langadapt.train.bootstrap import tiny_llama

CPT = {"block_size": 32, "batch_size": 4, "grad_accum": 1, "lr": 0.02, "weight_decay": 0.01, "warmup_steps": 2,
       "epochs": 1, "max_steps": -1, "max_tokens": 48 * 32, "logging_steps": 1}
EMBEDDINGS = ("model.embed_tokens.weight", "lm_head.weight")
# float32 sums in another order (a gradient reduce-scattered from two halves of the batch, the
# norm for clipping from two shards) after 6 Adam steps of lr 0.02
TOLERANCE = {"rtol": 0, "atol": 2e-5}


def _cpt_inputs(tmp_path, tok, docs, tied: bool) -> dict:
    model = tiny_llama(tok, hidden_size=16, layers=2, heads=2, intermediate_size=32, max_len=64, seed=0,
                       tie_word_embeddings=tied)
    save_model(model, tok, tmp_path / "init")
    shards = token_shards(tok, docs * 3, tmp_path / "data", shards=2)
    write_lines(tmp_path / "heldout.txt", docs[:40])
    return dict(init_dir=str(tmp_path / "init"), token_shards=[str(s) for s in shards],
                heldout_file=str(tmp_path / "heldout.txt"))


FSDP = launch.Setup(parallel="fsdp")


def _cpt(kw, out, nprocs, setup=FSDP, **cfg):
    """CPT of 48 blocks, 8 per optimizer step however many processes share them."""
    cfg = CPT | {"batch_size": 8 // nprocs} | cfg
    launch.run("langadapt.train.pretrain:run_cpt", dict(kw, out_dir=str(out), cfg=cfg, seed=0), nprocs,
               log_file=out.parent / f"{out.name}.log", threads=2, setup=setup)
    return load_file(out / "model.safetensors"), json.loads((out / "cpt_metrics.json").read_text())


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_fsdp_cpt_in_two_processes_ends_with_the_one_process_weights(tmp_path, byte_level_tok, ru_docs, tied):
    kw = _cpt_inputs(tmp_path, byte_level_tok, ru_docs, tied)
    one, m1 = _cpt(kw, tmp_path / "one", 1)
    two, m2 = _cpt(kw, tmp_path / "two", 2)
    assert m1["processes"] == 1 and m2["processes"] == 2 and m2["parallel"] == "fsdp"
    assert m1["steps"] == m2["steps"] == 6
    init = load_file(tmp_path / "init" / "model.safetensors")
    assert one.keys() == two.keys() == init.keys()
    assert ("lm_head.weight" in two) is not tied  # a tied model stays tied: one matrix on disk
    for name in init:
        if name in EMBEDDINGS:
            assert not torch.equal(two[name], init[name]), name
            torch.testing.assert_close(two[name], one[name], **TOLERANCE)
        else:
            assert torch.equal(two[name], init[name]) and torch.equal(one[name], init[name]), name
    assert json.loads((tmp_path / "two" / "config.json").read_text())["tie_word_embeddings"] is tied
    assert not list((tmp_path / "two").glob("*.distcp")) and not (tmp_path / "two" / "trainer").exists()
    # every rank logged its training; only rank 0 wrote a directory
    assert (tmp_path / "two.log.rank0").exists() and (tmp_path / "two.log.rank1").exists()
    assert abs(m1["heldout_loss_after"] - m2["heldout_loss_after"]) < 1e-4


def test_activation_checkpointing_recomputes_to_the_same_weights(tmp_path, byte_level_tok, ru_docs, caplog):
    """Activation checkpointing (HF's in one process, FSDP's own in two) changes no weight: the
    recomputed layers give the gradients the kept activations gave."""
    caplog.set_level("INFO")
    kw = _cpt_inputs(tmp_path, byte_level_tok, ru_docs, tied=False)
    plain, _ = _cpt(kw, tmp_path / "plain", 1)
    one, _ = _cpt(kw, tmp_path / "one", 1, launch.Setup(activation_checkpointing=True))
    two, _ = _cpt(kw, tmp_path / "two", 2, launch.Setup("fsdp", activation_checkpointing=True))
    for name in plain:
        assert torch.equal(one[name], plain[name]), name
        torch.testing.assert_close(two[name], plain[name], **TOLERANCE)
    # both decoder layers recomputed, in this process and in the sharded workers
    assert "activation checkpointing: 2 layers recomputed" in caplog.text
    assert "activation checkpointing: 2 layers recomputed" in (tmp_path / "two.log.rank1").read_text()


def test_bf16_mixed_precision_trains_the_embeddings_near_the_float32_run(tmp_path, byte_level_tok, ru_docs):
    """precision bf16 (autocast; under FSDP, layers gathered in bfloat16): the weights stay float32,
    the frozen layers bit-identical, the embeddings within bfloat16's rounding of the float32 run."""
    kw = _cpt_inputs(tmp_path, byte_level_tok, ru_docs, tied=False)
    fp32, _ = _cpt(kw, tmp_path / "fp32", 1)
    init = load_file(tmp_path / "init" / "model.safetensors")
    for n, setup in ((1, launch.Setup(precision="bf16")), (2, launch.Setup("fsdp", precision="bf16"))):
        bf16, m = _cpt(kw, tmp_path / f"bf16-{n}", n, setup)
        assert m["heldout_loss_after"] < m["heldout_loss_before"] - 0.1
        for name in init:
            assert bf16[name].dtype == torch.float32
            if name in EMBEDDINGS:
                moved = (fp32[name] - init[name]).abs().max()
                assert (bf16[name] - fp32[name]).abs().max() < 0.1 * moved, name
                assert not torch.equal(bf16[name], fp32[name]), name  # it did compute in bfloat16
            else:
                assert torch.equal(bf16[name], init[name]), name


def test_fsdp_cpt_killed_midway_resumes_to_the_same_weights(tmp_path, byte_level_tok, ru_docs):
    """kill -9 of the whole torchrun group after its first sharded checkpoint; the next run
    resumes from a checkpoint (not step 0) and ends with the unbroken sharded run's weights."""
    kw = _cpt_inputs(tmp_path, byte_level_tok, ru_docs, tied=False)
    ck = tmp_path / "checkpoints"
    slow = {"max_steps": 40, "save_steps": 4, "logging_steps": 2}  # the 6 batches of an epoch, repeated
    unbroken, _ = _cpt(dict(kw, checkpoint_dir=str(tmp_path / "ck0")), tmp_path / "unbroken", 2, **slow)
    args = dict(kw, out_dir=str(tmp_path / "cpt"), cfg=CPT | {"batch_size": 4} | slow, seed=0,
                checkpoint_dir=str(ck))
    code = ("import json, sys; from langadapt.core import launch; launch.run('langadapt.train.pretrain:run_cpt', "
            "json.loads(sys.argv[1]), 2, threads=2, setup=launch.Setup('fsdp'))")
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(ck.glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None and time.time() < deadline, "CPT ended before its first checkpoint"
        time.sleep(0.05)
    for p in psutil.Process(proc.pid).children(recursive=True):
        p.send_signal(signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (tmp_path / "cpt").exists()
    saved = sorted(int(c.name.split("-")[1]) for c in ck.glob("checkpoint-*"))
    assert saved and max(saved) < 40
    assert any(ck.glob("checkpoint-*/**/*.distcp"))  # sharded: each rank wrote its part

    launch.run("langadapt.train.pretrain:run_cpt", args, 2, log_file=tmp_path / "cpt.log", threads=2, setup=FSDP)
    log = (tmp_path / "cpt.log.rank0").read_text()
    assert "resuming from" in log and int(log.split("resuming from")[1].split("checkpoint-")[1].split()[0]) in saved
    resumed = load_file(tmp_path / "cpt" / "model.safetensors")
    for name in unbroken:
        assert torch.equal(resumed[name], unbroken[name]), name
    assert not ck.exists()


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_fsdp_lora_tuning_changes_only_its_layers_and_merges(tmp_path, byte_level_tok, ru_docs, tied):
    """LoRA (first and last layers, embeddings trained) sharded over two processes: the merged
    model differs from the instruct model in those layers' projections and the embeddings only;
    a tied model's one matrix trains and stays one."""
    from test_tune import LORA, TRAIN, instruct_dir  # noqa: F401  (instruct_dir: a fixture)

    from langadapt.data.instructions import instruction_conversations

    from test_clo import _chat

    tok = _chat(byte_level_tok)
    save_model(tiny_llama(tok, hidden_size=16, layers=3, heads=2, intermediate_size=32, max_len=256, seed=0,
                          tie_word_embeddings=tied), tok, tmp_path / "instruct")
    convs = instruction_conversations(ru_docs, 16, seed=0, max_chars=60, lang="en")
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n"
                                                 for c in convs))
    launch.run("langadapt.train.tune:lora_finetune",
               dict(model_dir=str(tmp_path / "instruct"), data_jsonl=str(tmp_path / "data.jsonl"),
                    out_dir=str(tmp_path / "out"), lora=LORA, train_cfg=TRAIN | {"epochs": 1, "batch_size": 4},
                    max_len=128, seed=0), 2, threads=2, setup=FSDP)
    assert not list((tmp_path / "out").glob("adapter_*")) and (tmp_path / "out" / "loss.csv").exists()
    merged = load_model(tmp_path / "out")
    old, new = load_model(tmp_path / "instruct").state_dict(), merged.state_dict()
    assert old.keys() == new.keys()
    assert (merged.lm_head.weight.data_ptr() == merged.model.embed_tokens.weight.data_ptr()) is tied
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert set(EMBEDDINGS) <= changed
    assert any(k.startswith("model.layers.0.") for k in changed) and any(k.startswith("model.layers.2.") for k in changed)
    assert not any(k.startswith("model.layers.1.") or "norm" in k for k in changed)
    assert all(k in EMBEDDINGS or any(f".{t}." in k for t in LORA["targets"]) for k in changed)


def test_fsdp_clo_trains_attention_only_against_its_reference(tmp_path, byte_level_tok):
    """CLO (policy sharded, the reference's log-probabilities computed before sharding) in two
    processes: only attention projections change, and its loss falls."""
    from test_launch import attention_only, clo_job

    launch.run("langadapt.train.clo:build_cross_lingual", clo_job(tmp_path, byte_level_tok, 8, epochs=3), 2,
               threads=2, setup=FSDP)
    rows = [line.split(",") for line in (tmp_path / "clo" / "loss.csv").read_text().splitlines()[1:]]
    assert int(rows[-1][0]) == 6 and float(rows[-1][1]) < float(rows[0][1])  # 16 pairs, 8 a step, 3 epochs
    assert attention_only(load_model(tmp_path / "instruct").state_dict(), load_model(tmp_path / "clo").state_dict())


def test_a_job_reads_how_it_trains_and_its_nodes_from_its_resources():
    assert launch.job_setup({}) == launch.Setup("ddp", False, "fp32")
    assert launch.job_setup({"parallel": "fsdp", "activation_checkpointing": 1, "precision": "bf16"}) == \
        launch.Setup("fsdp", True, "bf16")
    assert launch.nodes({}) == 1 and launch.nodes({"nodes": 4}) == 4
    with pytest.raises(Exception, match=r"^resource parallel='zero3' is unknown; choose ddp or fsdp$"):
        launch.job_setup({"parallel": "zero3"})
    with pytest.raises(Exception, match=r"^resource precision='fp16' is unknown; choose fp32 or bf16$"):
        launch.job_setup({"precision": "fp16"})


def test_a_multi_node_job_starts_one_torchrun_per_node_through_srun():
    """Inside a SLURM allocation: srun starts a torchrun on each node (within the job's step,
    --overlap), each with the node's GPUs, meeting on the first node of the allocation."""
    env = {"SLURM_JOB_ID": "81234", "SLURM_JOB_NODELIST": "gpu[003-004,009]"}
    cmd = launch.torchrun_command("/shared/spec.json", 8, 3, 8, env)
    srun, torchrun = cmd[:cmd.index(sys.executable)], cmd[cmd.index(sys.executable):]
    assert srun == ["srun", "--overlap", "--nodes=3", "--ntasks=3", "--ntasks-per-node=1", "--gres=gpu:8",
                    "--kill-on-bad-exit=1"]
    assert torchrun == [sys.executable, "-m", "torch.distributed.run", "--nnodes=3", "--nproc-per-node=8",
                        "--rdzv-backend=c10d", "--rdzv-endpoint=gpu003:30734", "--rdzv-id=langadapt-81234",
                        "-m", "langadapt.core.launch", "/shared/spec.json"]
    # outside SLURM: one torchrun here; several nodes cannot be had
    assert launch.torchrun_command("s.json", 2, 1, 0, {})[3:5] == ["--standalone", "--nproc-per-node=2"]
    with pytest.raises(Exception, match=r"^resource nodes=2: a job over several nodes runs in a SLURM allocation"):
        launch.torchrun_command("s.json", 2, 2, 0, {})
    assert launch.first_host("login1") == "login1" and launch.first_host("n[7-9]") == "n7"
    # a multi-node job's GPUs per node come as gres (sbatch --gpus would count the job's)
    assert launch.processes({"gres": "gpu:h100:8", "gpu": 0}) == 8 == launch.gpus({"gres": "gpu:8"})


def test_the_translator_trains_sharded_and_rank_0_alone_writes_it(tmp_path):
    """The train_translator rule's stage in two FSDP workers: one model directory, written once."""
    from test_translate import PAIRS

    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAIRS))
    kw = dict(parallel_train=str(tmp_path / "pairs.jsonl"), out_dir=str(tmp_path / "translator"), relation="r",
              src="en", tgt="ru", vocab_size=400, arch=dict(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                                            max_len=160),
              max_chars=100, template_copies=2, train_cfg={"lr": 0.01, "batch_size": 4, "max_steps": 6,
                                                           "logging_steps": 2}, seed=0)
    launch.run("langadapt.translate.trained:build_translator", kw, 2, threads=2, setup=FSDP)
    info = json.loads((tmp_path / "translator" / "training.json").read_text())
    assert info["examples"] == 7 + 2 + 2 * 4
    model = load_model(tmp_path / "translator")
    assert model.config.num_hidden_layers == 2 and all(torch.isfinite(p).all() for p in model.parameters())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl", "translator"]

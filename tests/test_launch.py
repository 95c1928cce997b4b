"""Multi-process CPT: two torchrun workers (gloo on CPU) train data-parallel, rank 0 writes."""

import json

import pytest
import torch

from shards import token_shards

from langadapt.core import launch
from langadapt.core.errors import LangadaptError
from langadapt.core.io import write_lines
from langadapt.models.io import load_model, save_model

CFG = {"block_size": 32, "batch_size": 4, "grad_accum": 1, "lr": 0.02, "weight_decay": 0.0, "warmup_steps": 0,
       "epochs": 1, "max_steps": -1, "max_tokens": 48 * 32, "logging_steps": 1}


def _inputs(tmp_path, model, tok, docs):
    save_model(model, tok, tmp_path / "init")
    shards = token_shards(tok, docs * 3, tmp_path / "data", shards=2)
    write_lines(tmp_path / "heldout.txt", docs[:40])
    return dict(init_dir=str(tmp_path / "init"), token_shards=[str(s) for s in shards],
                heldout_file=str(tmp_path / "heldout.txt"))


def test_cpt_in_two_processes_shards_the_data_and_writes_one_valid_model(tmp_path, tiny_model, byte_level_tok,
                                                                          ru_docs):
    kw = _inputs(tmp_path, tiny_model, byte_level_tok, ru_docs)
    launch.run("langadapt.train.pretrain:run_cpt", dict(kw, out_dir=str(tmp_path / "cpt"), cfg=CFG, seed=0), 2,
               log_file=tmp_path / "cpt.log", threads=2)
    m = json.loads((tmp_path / "cpt" / "cpt_metrics.json").read_text())
    # 48 blocks, 4 per worker per step, 2 workers: 6 steps (one process would take 12)
    assert m["processes"] == 2 and m["train_blocks"] == 48 and m["steps"] == 6
    assert m["heldout_loss_after"] < m["heldout_loss_before"]
    init, cpt = load_model(tmp_path / "init").state_dict(), load_model(tmp_path / "cpt").state_dict()
    for name, w in cpt.items():
        assert torch.isfinite(w).all(), name
        if name in m["trainable"]:
            assert not torch.equal(w, init[name]), name
        else:
            assert torch.equal(w, init[name]), name  # inner layers frozen in every worker
    assert (tmp_path / "cpt.log.rank0").exists() and (tmp_path / "cpt.log.rank1").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpt", "cpt.log.rank0", "cpt.log.rank1", "data",
                                                          "heldout.txt", "init"]  # nothing else, from either rank


def test_a_worker_error_is_the_one_line_a_single_process_gives(tmp_path, tiny_model, byte_level_tok, ru_docs):
    kw = _inputs(tmp_path, tiny_model, byte_level_tok, ru_docs)
    with pytest.raises(LangadaptError, match=r"^pretrain: the training text gives no full block of 100000 tokens \(\d+ tokens in 2 shards\)$"):
        launch.run("langadapt.train.pretrain:run_cpt", dict(kw, out_dir=str(tmp_path / "cpt"),
                   cfg=dict(CFG, block_size=100000), seed=0), 2, threads=2)
    assert not (tmp_path / "cpt").exists() and not any(p.name.startswith(".cpt") for p in tmp_path.iterdir())


def test_processes_follow_the_gpu_count_or_the_processes_resource():
    assert launch.processes({"gpu": 4}) == 4 and launch.processes({"gpu": 0, "processes": 2}) == 2
    assert launch.processes({}) == 1 and launch.processes({"gpu": 1, "processes": 1}) == 1


def clo_job(tmp_path, byte_level_tok, n: int, epochs: int = 1) -> dict:
    """An instruct model and n translated conversations under tmp_path: the keyword arguments of
    a CLO run on them (4 preference pairs per worker per step)."""
    from test_clo import EN, RU, _chat

    from langadapt.train.bootstrap import tiny_llama

    tok = _chat(byte_level_tok)
    save_model(tiny_llama(tok, hidden_size=32, layers=2, heads=2, intermediate_size=64, max_len=128, seed=0), tok,
               tmp_path / "instruct")
    (tmp_path / "tr.jsonl").write_text("".join(json.dumps({"en": EN[0], "ru": RU[0], "path": "joint"},
                                                          ensure_ascii=False) + "\n" for _ in range(n)))
    train_cfg = {"lr": 0.01, "batch_size": 4, "grad_accum": 1, "epochs": epochs, "max_steps": -1, "warmup_steps": 0,
                 "weight_decay": 0.0, "logging_steps": 1}
    return dict(model_dir=str(tmp_path / "instruct"), translations=str(tmp_path / "tr.jsonl"),
                out_dir=str(tmp_path / "clo"), objective="clo", n=n, beta=0.5, nll_weight=1.0,
                train_cfg=train_cfg, max_len=64, seed=0, langs=("en", "ru"))


def attention_only(old: dict, new: dict) -> bool:
    """Some weight changed, and every changed one is an attention projection's."""
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    return bool(changed) and all(any(f".{a}." in k for a in ("q_proj", "k_proj", "v_proj", "o_proj")) for k in changed)


def test_clo_in_two_processes_trains_attention_only_with_its_own_loss(tmp_path, byte_level_tok):
    """The preference trainer (own loss, precomputed reference log-probs per example) under DDP."""
    launch.run("langadapt.train.clo:build_cross_lingual", clo_job(tmp_path, byte_level_tok, 6), 2, threads=2)
    info = json.loads((tmp_path / "clo" / "training.json").read_text())
    assert info["examples"] == 12
    steps = (tmp_path / "clo" / "loss.csv").read_text().splitlines()[1:]
    assert int(steps[-1].split(",")[0]) == 2  # 12 pairs, 4 per worker per step, 2 workers (one process: 3)
    assert attention_only(load_model(tmp_path / "instruct").state_dict(), load_model(tmp_path / "clo").state_dict())


def test_a_job_runs_its_function_as_one_stage_with_the_jobs_log_and_fails_in_one_line(tmp_path, capsys):
    from types import SimpleNamespace

    smk = SimpleNamespace(params=SimpleNamespace(seed=0), log=[str(tmp_path / "logs" / "rule" / "job.log")],
                          output=[str(tmp_path / "out")], threads=1, resources={"gpu": 0})
    assert launch.job(smk, "json:dumps", obj=[1, 2]) == "[1, 2]"
    assert (tmp_path / "logs" / "rule" / "job.log").exists()
    with pytest.raises(SystemExit) as ex:
        launch.job(smk, "langadapt.train.clo:build_cross_lingual", model_dir=str(tmp_path), translations="x", out_dir="y",
                   objective="nope", n=1, beta=0.1, nll_weight=1.0, train_cfg={}, max_len=8, seed=0,
                   langs=("en", "ru"))
    assert ex.value.code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "langadapt: error: cross-lingual objective 'nope' is unknown; choose clo or sft"


def test_a_worker_crash_is_named_by_its_exception_not_by_the_last_line_printed(tmp_path):
    """A worker that dies of an ordinary exception: the job's one line is that exception (not the
    training metrics or torchrun's summary printed after it)."""
    with pytest.raises(LangadaptError) as err:
        launch.run("langadapt.train.clo:build_cross_lingual", dict(bogus=1), 2, threads=2)
    msg = str(err.value)
    assert msg.startswith("langadapt.train.clo:build_cross_lingual: 2 torchrun workers failed (exit 1): ")
    assert "TypeError: " in msg and "'bogus'" in msg and "\n" not in msg and "ChildFailedError" not in msg

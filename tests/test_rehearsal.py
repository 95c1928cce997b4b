"""Every stage on every real family, end to end at micro sizes: the smoke DAG (two vocabulary
variants, initialization, CPT, the three propagations, calibration, instruction tuning,
translation, CLO and SFT, lm-eval, the report) with `models.kind: rehearsal` for LLaMa-3,
Mistral, Qwen3 and Gemma 3 — the real tokenizers, templates, tying and padded embedding rows —
on the session smoke run's corpus. Then what the families bring is checked on the artifacts."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from safetensors import safe_open
from snakemake_run import ROOT, SNAKEMAKE

from langadapt.models.io import load_tokenizer
from langadapt.vocab.families import FAMILIES

pytestmark = pytest.mark.workflow


def micro_config(tmp, family: str) -> dict:
    """configs/smoke.yaml as the family's rehearsal, trimmed to what depends on the family: the
    mean initialization on both variants (every method meets padded and tied rows in
    tests/test_transfer.py), a few training steps, a few evaluation documents."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg |= {"results_dir": str(tmp / "results"), "experiment": f"smoke-{family}"}
    boot = cfg["models"]["bootstrap"]
    boot |= {"hidden_size": 32, "heads": 4, "layers": 2, "intermediate_size": 64, "instruct_examples": 32}
    boot["base"] |= {"max_steps": 4, "logging_steps": 2}
    boot["instruct"] |= {"max_steps": 4, "logging_steps": 2}
    cfg["models"] |= {"kind": "rehearsal", "rehearsal": {"family": family}}
    cfg["transfer"] |= {"methods": ["mean"], "compare": None}
    cfg["pretrain"] |= {"max_steps": 4, "save_steps": 2, "logging_steps": 2}
    # bits per byte and the copy task (generation through the family's template, stopping at its
    # end of turn); multiple choice and response language add nothing family-specific
    cfg["evaluate"] |= {"one_job_per": "stage", "max_docs": 6, "mc_docs": 0, "lang_docs": 0,
                        "copy": {**cfg["evaluate"]["copy"], "docs": 2}}
    cfg["calibrate"] |= {"prompts": 8, "max_new_tokens": 8}
    cfg["clo"]["sizes"] = [8]
    return cfg


def embeddings(model_dir):
    """(input rows, output rows or None, tie flag) of a saved model, from its safetensors."""
    cfg = json.loads((model_dir / "config.json").read_text())
    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    rows = next(s[0] for k, s in shapes.items() if k.endswith("embed_tokens.weight"))
    head = shapes.get("lm_head.weight")
    return rows, None if head is None else head[0], cfg.get("tie_word_embeddings"), cfg["vocab_size"]


@pytest.fixture(scope="module")
def rehearsals(smoke, tmp_path_factory):
    """The four families' runs at once, one snakemake process each on one core: each micro DAG
    is mostly one chain of jobs, so run one after another they would leave the second core idle
    (26 min in a row, 2026-12-02)."""
    import subprocess

    runs = {}
    for family in FAMILIES:
        tmp = tmp_path_factory.mktemp(f"rehearsal-{family}")
        cfg = micro_config(tmp, family)
        res = tmp / "results" / cfg["experiment"]
        shutil.copytree(smoke[1] / "corpus", res / "corpus", symlinks=True)  # the same corpus, not downloaded again
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
        with open(tmp / "snakemake.out", "w") as out:
            proc = subprocess.Popen([SNAKEMAKE, "--cores", "1", "--configfile", str(tmp / "config.yaml")], cwd=ROOT,
                                    stdout=out, stderr=subprocess.STDOUT)
        runs[family] = (tmp, res, proc)
    failed = {f: (tmp / "snakemake.out").read_text()[-3000:] for f, (tmp, _, proc) in runs.items() if proc.wait()}
    assert not failed, failed
    return {f: res for f, (_, res, _) in runs.items()}


@pytest.fixture(params=list(FAMILIES))
def rehearsed(request, rehearsals):
    return request.param, rehearsals[request.param]


def test_every_stage_ran_on_the_family(rehearsed):
    family, res = rehearsed
    summary = [line.split(",")[0] for line in (res / "report" / "summary.csv").read_text().splitlines()[1:]]
    stages = {m.split("/")[0] for m in summary}
    assert stages == {"source", "init", "cpt", "lep", "calibrated", "instruct_tuned", "clo", "sft"}
    assert {m.split("/")[3] for m in summary if m.startswith("lep/extended/mean/")} == {"swap", "overlap", "conversion"}
    stats = json.loads((res / "tokenizers" / "extended" / "stats.json").read_text())
    assert stats["heldout"]["ru"]["roundtrip"] == 1.0 and stats["vocabulary"]["new"] > 0
    assert stats["heldout"]["ru"]["chars_per_token"] > stats["source_heldout"]["ru"]["chars_per_token"]
    header = (res / "report" / "tokenizers.csv").read_text().splitlines()[0].split(",")
    assert ("paper_chars_per_token_ru" in header) == (family in ("llama3", "mistral"))  # LEP Table 2's families


def test_the_source_models_are_the_familys_shrunk(rehearsed):
    family, res = rehearsed
    arch = FAMILIES[family]["architecture"]
    for role in ("base", "instruct"):
        rows, head, tied, vocab_size = embeddings(res / "models" / "source" / role)
        assert rows == vocab_size == arch["vocab_size"]  # padding rows kept, as the family has them
        assert tied == arch["tie_word_embeddings"] and (head is None) == tied
        assert json.loads((res / "models" / "source" / role / "config.json").read_text())["model_type"] == \
            arch["model_type"]
    instruct = load_tokenizer(res / "models" / "source" / "instruct")
    assert instruct.eos_token == FAMILIES[family]["end_of_turn"]


def test_adapted_models_have_one_row_per_token_and_keep_the_tying(rehearsed):
    """No new token lands in a padding row: every adapted model has exactly one row per token of
    its tokenizer; Extended keeps every source id; tied families stay tied through every stage."""
    family, res = rehearsed
    tied = FAMILIES[family]["architecture"]["tie_word_embeddings"]
    dirs = [p.parent for stage in ("init", "cpt", "lep", "calibrated", "instruct_tuned")
            for p in (res / stage).rglob("config.json") if "checkpoint" not in str(p)]
    assert len(dirs) >= 12
    for d in dirs:
        rows, head, tie, vocab_size = embeddings(d)
        assert rows == vocab_size == len(load_tokenizer(d)), d
        assert tie == tied and (head is None) == tied, d
    source = load_tokenizer(res / "models" / "source" / "tokenizer").get_vocab()
    extended = load_tokenizer(res / "tokenizers" / "extended").get_vocab()
    assert source.items() <= extended.items() and len(extended) > len(source)


def test_propagated_models_end_their_turns_as_the_family_does(rehearsed):
    family, res = rehearsed
    eot = FAMILIES[family]["end_of_turn"]
    instruct = load_tokenizer(res / "models" / "source" / "instruct")
    for d in (res / "lep" / "extended" / "mean").iterdir():
        tok = load_tokenizer(d)
        gen = json.loads((d / "generation_config.json").read_text())
        assert tok.eos_token == eot and gen["eos_token_id"] == tok.convert_tokens_to_ids(eot), d
        assert tok.chat_template == instruct.chat_template

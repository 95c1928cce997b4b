"""The workflow through Snakemake itself: dry run of the default, smoke run end to end, re-run behaviour."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from snakemake_run import ROOT, SNAKEMAKE, run_snakemake, smoke_config

STAGES = {"corpus_deb", "corpus_source", "corpus_split", "corpus_parallel", "corpus_stats", "bootstrap_tokenizer",
          "bootstrap_base", "bootstrap_instruct", "tokenizer", "overlap", "focus_vectors", "wechsel_vectors",
          "bootstrap_plm", "transfer", "pretrain", "lep", "calibration_data", "calibrate", "instruct_tune_data", "instruct_tune", "translate", "clo", "sft",
          "eval_tasks", "evaluate", "report"}
PROPS = ["swap", "overlap", "conversion"]
INITS = ["random", "mean", "focus", "wechsel", "let", "salt", "omp"]

pytestmark = pytest.mark.workflow


def jobs_run(results: Path, before: dict[str, int]) -> set[str]:
    """Jobs that ran since `before`, read off the benchmark files each job rewrites."""
    now = {str(p.relative_to(results / "benchmarks")): p.stat().st_mtime_ns
           for p in (results / "benchmarks").rglob("*.tsv")}
    return {k.removesuffix(".tsv") for k, t in now.items() if before.get(k) != t}


def benchmark_times(results: Path) -> dict[str, int]:
    return {str(p.relative_to(results / "benchmarks")): p.stat().st_mtime_ns
            for p in (results / "benchmarks").rglob("*.tsv")}


def smoke_pairs() -> list[tuple[str, str]]:
    """(vocab, init) pairs of the smoke config: all six initializations on bpe, mean on extended."""
    from langadapt.workflow import transfer_plan, validate_config

    cfg = validate_config(yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text()),
                          ROOT / "schemas" / "config.schema.yaml")
    return [(v, i) for v, inits in transfer_plan(cfg).items() for i in inits]


def smoke_propagated() -> list[str]:
    """'vocab/init/prop' of the smoke config: the three propagations of every mean model, swap for
    the other initializations (lep.compare)."""
    return [f"{v}/{i}/{p}" for v, i in smoke_pairs() for p in (PROPS if i == "mean" else ["swap"])]


TUNED = ["bpe/mean/conversion", "extended/mean/conversion"]
CROSS_LINGUAL = ["sft/8", "clo/8", "sft/16", "clo/16"]


def test_default_dry_run_lists_every_stage():
    out = subprocess.run([SNAKEMAKE, "-n", "-F", "--cores", "2", "--quiet", "rules"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    rules = [line.split()[0] for line in out.splitlines() if line.strip()]
    # the default evaluates one lm-eval job per stage (evaluate.one_job_per), each under its own rule
    per_stage = sorted({r for r in rules if r.startswith("evaluate_")})
    assert per_stage == [f"evaluate_{s}" for s in sorted(("source", "init", "cpt", "lep", "calibrated",
                                                            "instruct_tuned", "clo"))]
    listed = {"evaluate" if r.startswith("evaluate_") else r for r in rules}
    assert listed & STAGES == STAGES


def test_a_trained_translator_is_built_from_the_parallel_corpus_before_translation(tmp_path):
    """translate.model 'train': the translator is trained on corpus/parallel/train.jsonl (nothing
    fetched), and the translation waits for it."""
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"translate": {"backend": "causal_lm", "model": "train"}}))
    out = subprocess.run([SNAKEMAKE, "-n", "-F", "--cores", "2", "--configfile", "config.yaml", str(tmp_path / "t.yaml"),
                          "--quiet", "rules", "--", "results/default/translate/stats.json"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    rules = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert "train_translator" in rules and "corpus_parallel" in rules and "fetch_translator" not in rules
    assert "localrules" not in out.stderr  # fetch_translator is declared local only where it exists


def test_bad_config_value_stops_before_any_job(tmp_path):
    cfg = smoke_config(tmp_path, pretrain={"lr": -0.1})
    proc = subprocess.run([SNAKEMAKE, "--cores", "1", "--configfile", str(cfg)], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "langadapt: config key 'pretrain.lr'" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_smoke_models_load(smoke):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, res = smoke
    for d in ["models/source/base", "models/source/instruct", "init/bpe/mean", "cpt/bpe/mean", "lep/bpe/mean/swap",
              "init/extended/mean", "lep/extended/mean/swap", "lep/bpe/mean/conversion", "calibrated/bpe/mean/conversion",
              "instruct_tuned/extended/mean/conversion"]:
        model = AutoModelForCausalLM.from_pretrained(res / d)
        tok = AutoTokenizer.from_pretrained(res / d)
        assert model.get_input_embeddings().weight.shape[0] == len(tok), d
        assert any((res / d).glob("*.safetensors")) and not any((res / d).glob("*.bin"))
    for v in ("bpe", "extended"):
        lep_tok = AutoTokenizer.from_pretrained(res / f"lep/{v}/mean/swap")
        assert lep_tok.chat_template and lep_tok.eos_token == "<|eot_id|>", v


def test_smoke_cpt_inner_layers_bit_identical(smoke):
    from transformers import AutoModelForCausalLM

    from langadapt.models.io import inner_state_dict

    _, res = smoke
    base = inner_state_dict(AutoModelForCausalLM.from_pretrained(res / "models/source/base"))
    cpt = inner_state_dict(AutoModelForCausalLM.from_pretrained(res / "cpt/bpe/mean"))
    init = AutoModelForCausalLM.from_pretrained(res / "init/bpe/mean")
    assert base.keys() == cpt.keys() and len(base) > 5
    for k in base:
        assert torch.equal(base[k], cpt[k]), k
    trained = AutoModelForCausalLM.from_pretrained(res / "cpt/bpe/mean")
    assert not torch.equal(init.get_input_embeddings().weight, trained.get_input_embeddings().weight)


def test_smoke_report(smoke):
    _, res = smoke
    df = pd.read_csv(res / "report/summary.csv")
    pairs = smoke_pairs()
    assert sorted(pairs) == sorted([("bpe", i) for i in INITS] + [("extended", "mean")])
    assert list(df["model"][:2]) == ["source/base", "source/instruct"]
    assert sorted(df["model"][2:]) == sorted([f"{s}/{v}/{i}" for v, i in pairs for s in ("init", "cpt")]
                                             + [f"lep/{k}" for k in smoke_propagated()]
                                             + [f"{s}/{k}" for k in TUNED for s in ("calibrated", "instruct_tuned")]
                                             + CROSS_LINGUAL)
    assert len(smoke_propagated()) == 3 + 3 + 6
    assert df[["bpb_ru", "bpb_en", "chars_per_token_ru"]].notna().all().all()
    cpt_ru = dict(zip(df["model"], df["chars_per_token_ru"]))
    assert cpt_ru["cpt/bpe/mean"] > cpt_ru["source/base"]
    loss = pd.read_csv(res / "cpt/bpe/mean/loss.csv")
    assert loss["loss"].iloc[-1] < loss["loss"].iloc[0]
    assert (res / "report/figures/cpt_loss.png").stat().st_size > 5000
    stats = json.loads((res / "corpus/stats.json").read_text())
    assert stats["sources"]["ru_fortunes"]["documents"] > 1000


def test_smoke_every_initialization(smoke):
    """Six methods on bpe: each initialized model differs from the others on new tokens, keeps the
    shared rows of the base model, and is in the transfer table and the comparison plot."""
    from langadapt.models.io import embedding_matrices, load_model, load_tokenizer
    from langadapt.vocab.overlap import load_overlap

    _, res = smoke
    ov = load_overlap(res / "overlap/bpe.json")
    shared = np.asarray(ov["shared"])
    base_in = embedding_matrices(load_model(res / "models/source/base"))[0].detach()
    rows = {}
    for i in INITS:
        emb = embedding_matrices(load_model(res / f"init/bpe/{i}"))[0].detach()
        assert torch.equal(emb[shared[:, 0]], base_in[shared[:, 1]]), i
        new = np.setdiff1d(np.arange(len(emb)), shared[:, 0])
        rows[i] = emb[new]
    for a in INITS:
        for b in INITS:
            assert a == b or not torch.allclose(rows[a], rows[b]), (a, b)
    plm = load_model(res / "models/plm")
    assert plm.config.hidden_size != base_in.shape[1]
    assert plm.config.vocab_size == len(load_tokenizer(res / "tokenizers/bpe"))
    tr = pd.read_csv(res / "report/transfer.csv")
    assert sorted(zip(tr["vocab"], tr["init"])) == sorted(smoke_pairs())
    assert tr[["init_bpb_ru", "cpt_bpb_ru", "swap_bpb_ru"]].notna().all().all()
    assert (res / "report/figures/init_comparison.png").stat().st_size > 5000
    focus = json.loads((res / "aux/focus/bpe.json").read_text())
    wechsel = json.loads((res / "aux/wechsel/bpe.json").read_text())
    assert focus["with_vector"] > 0.3 * focus["tokens"] and wechsel["pairs_used"] > 100


def test_smoke_propagation_and_tuning(smoke):
    """Overlap and conversion move the adapted rows, swap keeps them; chat tokens keep the instruct
    model's rows; calibration and SFT change the propagated model but not its tokenizer; only
    instruct models are scored on copy; LEP Tables 3 and 4 are in the report."""
    from langadapt.models.io import embedding_matrices, load_model, load_tokenizer
    from langadapt.train.bootstrap import CHAT_TOKENS

    _, res = smoke
    cpt_in = embedding_matrices(load_model(res / "cpt/bpe/mean"))[0].detach()
    n = cpt_in.shape[0]
    rows = {p: embedding_matrices(load_model(res / f"lep/bpe/mean/{p}"))[0].detach() for p in PROPS}
    assert torch.equal(rows["swap"][:n], cpt_in)
    assert not torch.allclose(rows["overlap"][:n], cpt_in, atol=1e-3)
    assert (rows["conversion"][:n] - rows["overlap"][:n]).abs().max() > 1e-5  # two different maps
    inst_in = embedding_matrices(load_model(res / "models/source/instruct"))[0].detach()
    inst_tok, tok = load_tokenizer(res / "models/source/instruct"), load_tokenizer(res / "lep/bpe/mean/conversion")
    for t in CHAT_TOKENS:
        for p in PROPS:
            assert torch.equal(rows[p][tok.convert_tokens_to_ids(t)], inst_in[inst_tok.convert_tokens_to_ids(t)])
    lep = load_model(res / "lep/bpe/mean/conversion").state_dict()
    cal = load_model(res / "calibrated/bpe/mean/conversion").state_dict()
    sft = load_model(res / "instruct_tuned/bpe/mean/conversion").state_dict()
    assert lep.keys() == cal.keys() == sft.keys()
    assert not torch.equal(lep["model.embed_tokens.weight"], cal["model.embed_tokens.weight"])
    assert any(not torch.equal(cal[k], sft[k]) for k in cal if ".layers." in k)
    assert load_tokenizer(res / "instruct_tuned/bpe/mean/conversion").get_vocab() == tok.get_vocab()
    calib = [json.loads(line) for line in (res / "instructions/calibration.jsonl").read_text().splitlines()]
    assert calib and all(c["messages"][1]["content"] for c in calib)
    for key, instruct in (("lep/bpe/mean/overlap", True), ("instruct_tuned/extended/mean/conversion", True),
                          ("source/instruct", True), ("cpt/bpe/mean", False), ("source/base", False)):
        tasks = json.loads((res / f"eval/{key}.json").read_text())["lm_eval"]
        assert ("langadapt_copy_ru" in tasks) == instruct and "langadapt_mc_ru" in tasks, key
    table3 = pd.read_csv(res / "report/lep.csv")
    assert table3["vocab"].iloc[0] == "original instruct" and len(table3) == 1 + len(smoke_propagated())
    assert table3["copy_lcs_ru"].notna().all() and table3["bpb_ru"].notna().all()
    table4 = pd.read_csv(res / "report/tune.csv")
    assert list(table4["step"]) == ["baseline"] + ["LEP", "+ calibration", "+ instruction tuning"] * len(TUNED)
    assert (res / "report/figures/lep.png").stat().st_size > 5000


def test_smoke_translation_and_cross_lingual(smoke):
    """English instructions translated once per data point and split back; CLO and SFT at two sizes
    train attention only; both are scored on the response language; the report compares them."""
    from langadapt.models.io import load_model

    _, res = smoke
    rows = [json.loads(line) for line in (res / "translate/instructions.jsonl").read_text().splitlines()]
    assert len(rows) == 18 and sum(r["path"] == "joint" for r in rows) >= 12  # 16 for CLO + 10% spare
    assert all(r["ru"] is None or r["ru"][0]["content"] != r["en"][0]["content"] for r in rows)
    stats = json.loads((res / "translate/stats.json").read_text())
    assert stats["instructions"]["datapoints"] == 18 and stats["instructions"]["failed"] <= 2
    inst = load_model(res / "models/source/instruct").state_dict()
    for key in CROSS_LINGUAL:
        new = load_model(res / key).state_dict()
        changed = {k for k in inst if not torch.equal(inst[k], new[k])}
        assert changed and all(any(a in k for a in ("q_proj", "k_proj", "v_proj", "o_proj")) for k in changed), key
        tasks = json.loads((res / f"eval/{key}.json").read_text())["lm_eval"]
        assert {"langadapt_lang_ru", "langadapt_lang_en", "langadapt_copy_ru"} <= tasks.keys(), key
    clo = pd.read_csv(res / "report/clo.csv")
    assert list(zip(clo["objective"], clo["size"])) == [("original instruct", 0), ("clo", 8), ("sft", 8),
                                                        ("clo", 16), ("sft", 16)]
    assert clo[["in_lang_ru", "in_lang_en", "bpb_ru", "bpb_en"]].notna().all().all()
    assert (res / "report/translation.csv").exists() and (res / "report/figures/clo.png").stat().st_size > 5000


def test_smoke_tokenizer_table(smoke):
    _, res = smoke
    tok = pd.read_csv(res / "report/tokenizers.csv").set_index("tokenizer")
    assert list(tok.index) == ["source", "bpe", "extended"]
    assert tok.loc["extended", "vocab_size"] > tok.loc["source", "vocab_size"]
    for v in ("bpe", "extended"):
        assert tok.loc[v, "chars_per_token_ru"] > tok.loc["source", "chars_per_token_ru"]
    assert (tok[["roundtrip_ru", "roundtrip_en"]].loc[["source", "extended"]] == 1.0).all().all()
    assert (res / "report/figures/tokenizer_efficiency.png").stat().st_size > 5000
    id_map = json.loads((res / "tokenizers/extended/id_map.json").read_text())
    assert id_map["old_to_new"] == list(range(id_map["source_size"]))


def test_smoke_second_run_does_nothing(smoke):
    tmp, res = smoke
    before = benchmark_times(res)
    run_snakemake(tmp / "smoke.yaml")
    assert jobs_run(res, before) == set()


def rule_scripts(configfile: Path) -> dict[str, Path]:
    """Each rule's script, as Snakemake reads the workflow."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=ROOT / "Snakefile", workdir=ROOT,
                          config_settings=ConfigSettings(configfiles=[configfile]))
        return {r.name: Path(r.basedir.join(r.script).get_path_or_uri(secret_free=True))
                for r in wf._workflow.rules if r.script}


# modules a job loads by name when it runs, beside its script's imports: the initialization the
# transfer job's {init} names, and the scores lm-eval's task hooks (tasks/*_metrics.py) import
DISPATCHED = {"transfer": lambda out: (f"langadapt.transfer.{Path(out).name}",),
              "evaluate": lambda out: ("langadapt.eval.metrics",)}


def detailed_summary(configfile: Path) -> list[dict]:
    """Snakemake's own account of every output: its rule, inputs and whether it would be updated."""
    out = subprocess.run([SNAKEMAKE, "--detailed-summary", "--cores", "1", "--configfile", str(configfile)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    head, *rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    return [dict(zip(head, r)) for r in rows]


def test_editing_a_module_reruns_exactly_the_jobs_that_run_it_and_their_dependants(smoke):
    """Every rule's library inputs are the import closure of its own script (plus what it
    dispatches by name), and Snakemake acts on them: for every library module (one of each group
    that the same jobs load), an edited module makes exactly the jobs that load it, and what
    depends on their outputs, pending; a module no job loads makes nothing pending. Editing the instruction
    templates re-runs the evaluations."""
    from langadapt.core.deps import import_closure

    tmp, _ = smoke
    cfg = tmp / "smoke.yaml"
    lib = str(ROOT / "langadapt") + "/"
    rows = detailed_summary(cfg)
    assert rows and all(r["plan"] == "no update" for r in rows)
    scripts = rule_scripts(cfg)
    inputs = {r["output_file"]: set(r["input-file(s)"].split(",")) - {"-"} for r in rows}
    loads = {}
    for r in rows:  # what each job loads, computed here from the scripts, against its code stamp's files
        out, rule = r["output_file"], r["rule"]
        want = set(import_closure(scripts[rule], DISPATCHED.get(rule, lambda o: ())(out)))
        [stamp] = [i for i in inputs[out] if "/.snakemake/langadapt-code/" in i]
        assert not [i for i in inputs[out] if i.startswith(lib)], out  # the stamp stands for them
        stamped = json.loads(Path(stamp).read_text())["files"]
        assert {str(ROOT / f) for f in stamped} == want, out
        loads[out] = want

    def expected_pending(module: str) -> set[str]:
        pending = {o for o, mods in loads.items() if module in mods}
        while True:
            more = {o for o, ins in inputs.items() if ins & pending} - pending
            if not more:
                return pending
            pending |= more

    groups = {}
    for path in sorted((ROOT / "langadapt").rglob("*.py")):
        groups.setdefault(frozenset(o for o, mods in loads.items() if str(path) in mods), path)
    assert frozenset() in groups  # e.g. the reference implementations, which only the tests load
    instructions = str(ROOT / "langadapt" / "data" / "instructions.py")
    touched = [*groups.values(), Path(instructions)]
    for path in touched:
        # an edit, not a touch: Snakemake skips an input whose mtime changed but not its checksum
        text, stat = path.read_bytes(), path.stat()
        try:
            path.write_bytes(text + b"\n# edited by tests/test_workflow.py\n")
            pending = {r["output_file"] for r in detailed_summary(cfg) if r["plan"] != "no update"}
        finally:
            path.write_bytes(text)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert pending == expected_pending(str(path)), path.relative_to(ROOT)
        if str(path) == instructions:
            assert {o for o in pending if "/eval/" in o and o.endswith(".json")}, "evaluations not re-run"


def test_snakemake_report_holds_the_figures_and_tables_with_captions(smoke, tmp_path):
    """`snakemake --report` writes one self-contained HTML file with every report() output."""
    tmp, _ = smoke
    html = tmp_path / "report.html"
    subprocess.run([SNAKEMAKE, "--report", str(html), "--configfile", str(tmp / "smoke.yaml")], cwd=ROOT,
                   check=True, capture_output=True)
    text = html.read_text()
    for name in ("cpt_loss.png", "tokenizer_efficiency.png", "init_comparison.png", "lep.png", "clo.png",
                 "summary.csv", "tokenizers.csv", "transfer.csv", "lep.csv", "tune.csv", "clo.csv", "translation.csv"):
        assert name in text, name
    assert "the LET paper's Figure 1" in text  # a caption, from report/init_comparison.rst
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', text)  # nothing fetched when opened


def test_smoke_changed_pretrain_value_reruns_exactly_downstream(smoke):
    tmp, res = smoke
    before = benchmark_times(res)
    run_snakemake(smoke_config(tmp, pretrain={"lr": 0.004}))
    assert jobs_run(res, before) == (
        {f"{stage}/{v}/{i}" for v, i in smoke_pairs() for stage in ("pretrain", "evaluate/cpt")}
        | {f"{stage}/{k}" for k in smoke_propagated() for stage in ("lep", "evaluate/lep")}
        | {f"{stage}/{k}" for k in TUNED for stage in ("calibrate", "evaluate/calibrated", "instruct_tune", "evaluate/instruct_tuned")}
        | {"report"})


def test_smoke_changed_method_value_reruns_only_that_method(smoke):
    tmp, res = smoke
    before = benchmark_times(res)
    cfg = smoke_config(tmp, pretrain={"lr": 0.004})
    spec = yaml.safe_load(cfg.read_text())
    spec["transfer"]["salt"] = {"k": 8}
    cfg.write_text(yaml.safe_dump(spec, allow_unicode=True))
    run_snakemake(cfg)
    assert jobs_run(res, before) == {"transfer/bpe/salt", "evaluate/init/bpe/salt", "pretrain/bpe/salt",
                                     "evaluate/cpt/bpe/salt", "lep/bpe/salt/swap", "evaluate/lep/bpe/salt/swap",
                                     "report"}


def test_hub_model_and_hf_corpus_config_dry_runs(tmp_path):
    """A real-model config (hub ids, streamed hub corpus, local files) builds a complete DAG without running."""
    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    cfg["results_dir"] = str(tmp_path / "results")
    cfg["models"] = {"kind": "hf", "hf": {"base": "meta-llama/Meta-Llama-3-8B",
                                          "instruct": "meta-llama/Meta-Llama-3-8B-Instruct"}}
    # the LET paper's setup: the Russian PLM's own tokenizer is the new vocabulary
    cfg["tokenizer"]["variants"]["rugpt"] = {"kind": "plm"}
    cfg["transfer"]["compare"] = {"vocab": "rugpt", "methods": INITS}
    cfg["transfer"]["plm"] = {"kind": "hf", "hub_id": "ai-forever/rugpt3small_based_on_gpt2", "vocab": "rugpt"}
    cfg["transfer"]["wechsel"] = {"dictionary_path": str(tmp_path / "en-ru.tsv")}
    (tmp_path / "en-ru.tsv").write_text("cat\tкошка\n", encoding="utf-8")
    cfg["translate"] = {"backend": "hf_seq2seq", "model": "facebook/nllb-200-distilled-600M", "src_code": "eng_Latn",
                        "tgt_code": "rus_Cyrl"}
    cfg["corpus"]["sources"] = {
        "ru_web": {"kind": "hf", "lang": "ru", "dataset": "uonlp/CulturaX", "name": "ru", "max_bytes": 10**9},
        "en_local": {"kind": "files", "lang": "en", "paths": [str(tmp_path / "*.txt")]},
    }
    (tmp_path / "en.txt").write_text("A local English text.\n", encoding="utf-8")  # patterns must match a file
    (tmp_path / "hf.yaml").write_text(yaml.safe_dump(cfg))
    out = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--configfile", str(tmp_path / "hf.yaml"), "--quiet",
                          "rules"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["fetch_model"] == 2 and counts["fetch_plm"] == 1 and counts["corpus_source"] == 2
    assert counts["fetch_translator"] == 1 and counts["translate"] == 1 and counts["clo"] == 2 and counts["sft"] == 2
    assert "bootstrap_base" not in counts and "bootstrap_plm" not in counts and "corpus_deb" not in counts
    # 9 (vocab, init) pairs: init + cpt each; the 3 mean models propagated 3 ways and tuned twice; 6 more swaps
    assert counts["lep"] == 3 * 3 + 6 and counts["calibrate"] == counts["instruct_tune"] == 3
    assert counts["evaluate"] == 2 + 2 * 9 + 15 + 2 * 3 + 4 and counts["report"] == 1 and counts["tokenizer"] == 3
    assert counts["transfer"] == 2 + len(INITS)


GPU_RULES = {"pretrain", "evaluate", "calibration_data", "calibrate", "instruct_tune", "translate", "clo", "sft"}


@pytest.mark.parametrize("name", ["paper-llama3", "paper-mistral", "paper-qwen3", "paper-gemma3", "paper-llama3-70b"])
def test_paper_config_dry_runs_complete_with_gpus_on_every_model_rule(name, tmp_path):
    """The paper's real configs plan the whole DAG (hub models, streamed corpus, every vocabulary
    through init → CPT → LEP → tuning → evaluation, translation and CLO/SFT), every rule that
    trains or runs a model asks for a GPU, and their built-in lm-eval tasks exist."""
    from langadapt.eval.evaluate import check_builtin
    from langadapt.workflow import validate_config

    cfg = validate_config(yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()),
                          ROOT / "schemas" / "config.schema.yaml")
    cfg["results_dir"] = str(tmp_path / "results")  # nothing of a real run here is touched
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--configfile", str(tmp_path / "c.yaml")], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=\n\n|\Z)", out, re.S | re.M)
    gpus = {}
    for rule, body in jobs:
        m = re.search(r"resources: .*?\bgpu=(\d+)", body)
        gpus.setdefault(rule, set()).add(int(m.group(1)) if m else 0)
    vocabs = list(cfg["tokenizer"]["variants"])
    counts = {r: sum(1 for j, _ in jobs if j == r) for r in gpus}
    assert counts["fetch_model"] == 2 and counts["corpus_source"] == 2 and "bootstrap_base" not in counts
    assert counts["tokenizer"] == counts["pretrain"] == counts["calibrate"] == counts["instruct_tune"] == len(vocabs)
    assert counts["lep"] == 3 * len(vocabs) and counts["clo"] == counts["sft"] == 2 and counts["report"] == 1
    # base + instruct, init + cpt + 3 propagations + 2 tunings per vocabulary, 2 CLO + 2 SFT
    assert counts["evaluate"] == 2 + 7 * len(vocabs) + 4
    assert {r for r, g in gpus.items() if min(g) >= 1} == GPU_RULES
    assert all(g == {0} for r, g in gpus.items() if r not in GPU_RULES)
    # the 70B's training jobs shard the model (FSDP) and recompute activations; the 8B's keep it whole
    training = {"pretrain", "calibrate", "instruct_tune", "clo", "sft"}
    parallel = {re.search(r"\bparallel=(\w+)", body).group(1) for rule, body in jobs if rule in training}
    assert parallel == ({"fsdp"} if name.endswith("70b") else {"ddp"})
    assert len(cfg["evaluate"]["builtin"]["tasks"]) == 5
    check_builtin(cfg["evaluate"]["builtin"]["tasks"])


def test_smoke_cpt_as_two_processes_writes_a_valid_model(smoke, tmp_path):
    """The smoke CPT job re-run with the `processes` resource at 2: two torchrun workers (gloo),
    data-parallel, one valid model — inner layers the base model's, embeddings trained."""
    import shutil

    from langadapt.models.io import load_model

    tmp, _ = smoke
    shutil.copytree(tmp / "as_run" / "smoke", tmp_path / "results" / "smoke", symlinks=True)
    cfg = smoke_config(tmp_path)
    cfg.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), "resources": {"gpu_rules": {"processes": 2}}}))
    res = tmp_path / "results" / "smoke"
    one = json.loads((res / "cpt/bpe/mean/cpt_metrics.json").read_text())
    subprocess.run([SNAKEMAKE, str(res / "cpt/bpe/mean"), "--forcerun", "pretrain", "--allowed-rules", "pretrain",
                    "--cores", "2", "--configfile", str(cfg)], cwd=ROOT, check=True, capture_output=True)
    two = json.loads((res / "cpt/bpe/mean/cpt_metrics.json").read_text())
    assert one["processes"] == 1 and two["processes"] == 2
    # the same blocks in half the steps (max_steps permitting), and it learned
    assert two["train_blocks"] == one["train_blocks"] and two["steps"] <= one["steps"]
    assert two["heldout_loss_after"] < two["heldout_loss_before"]
    assert (res / "logs/pretrain/bpe/mean.log.rank1").exists()
    init, cpt = load_model(res / "init/bpe/mean").state_dict(), load_model(res / "cpt/bpe/mean").state_dict()
    trained = set(two["trainable"])
    assert all(torch.equal(w, init[k]) for k, w in cpt.items() if k not in trained)
    assert all(torch.isfinite(cpt[k]).all() and not torch.equal(cpt[k], init[k]) for k in trained)

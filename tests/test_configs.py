"""The shipped configs: each family's CPU rehearsal (configs/rehearsal-*.yaml) stays in step with
its paper config (configs/paper-*.yaml) — the same stages, vocabulary kinds in the same
proportions, initializations, propagations and tunings; only sizes, corpora, where the models
come from and hub-only parts (NLLB, lm-eval's built-in tasks) differ — checked on the configs and
on the DAGs Snakemake plans from them."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from snakemake_run import ROOT, SNAKEMAKE

from langadapt.vocab.families import FAMILIES
from langadapt.workflow import validate_config

pytestmark = pytest.mark.workflow  # it dry-runs Snakemake

SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def load(name: str) -> dict:
    return validate_config(yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()), SCHEMA)


def planned(name: str, tmp_path) -> dict[str, int]:
    """Jobs per rule of a dry run of the config, results under tmp_path."""
    cfg = load(name)
    cfg["results_dir"] = str(tmp_path / name)
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    out = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--configfile", str(tmp_path / f"{name}.yaml")],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):", out, re.M)
    return {r: jobs.count(r) for r in set(jobs)}


def test_every_family_has_a_paper_config_and_a_rehearsal():
    names = {p.stem for p in (ROOT / "configs").glob("*.yaml")}
    assert {f"paper-{f}" for f in FAMILIES} <= names and {f"rehearsal-{f}" for f in FAMILIES} <= names


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_rehearsal_keeps_the_paper_configs_setup(family, tmp_path):
    paper, rehearsal = load(f"paper-{family}"), load(f"rehearsal-{family}")
    assert rehearsal["models"]["kind"] == "rehearsal" and rehearsal["models"]["rehearsal"]["family"] == family
    assert paper["models"]["kind"] == "hf" and paper["models"]["hf"]["base"] == FAMILIES[family]["base_model"]
    # the same variants, of the same kinds and shares kept, with sizes in the paper's proportions
    pv, rv = paper["tokenizer"]["variants"], rehearsal["tokenizer"]["variants"]
    assert {n: (v["kind"], v.get("keep")) for n, v in pv.items()} == {n: (v["kind"], v.get("keep")) for n, v in rv.items()}

    def ratios(variants):
        sizes = {n: v.get("size") or v["donor_size"] for n, v in variants.items()}
        return {n: s / sizes["bpe"] for n, s in sizes.items()}

    assert ratios(pv) == ratios(rv)
    for section, keys in {"transfer": ["methods", "compare"], "lep": ["methods", "compare", "tune"],
                          "calibrate": ["lang"], "instruct_tune": ["lang"], "pretrain": ["source_share"]}.items():
        assert {k: paper[section][k] for k in keys} == {k: rehearsal[section][k] for k in keys}, section
    assert len(paper["clo"]["sizes"]) == len(rehearsal["clo"]["sizes"])
    # and Snakemake plans the same jobs from both for every rule past the models and corpora (the
    # evaluations batch differently on 2 cores: one lm-eval job per stage; the paper's 40 GB are
    # tokenized in 157 shards per vocabulary and its 10 GB of English for the CPT mix in 40, the
    # rehearsal's 3 MB of each in one)
    sources = {"fetch_model", "family_tokenizer", "bootstrap_base", "bootstrap_instruct", "corpus_source",
               "corpus_deb", "fetch_translator", "corpus_parallel", "tokenize"}
    p, r = planned(f"paper-{family}", tmp_path), planned(f"rehearsal-{family}", tmp_path)
    same = lambda jobs: {k: v for k, v in jobs.items() if k not in sources and not k.startswith("evaluate")}  # noqa: E731
    assert same(p) == same(r)
    vocabs = len(paper["tokenizer"]["variants"])
    assert p["tokenize"] == (157 + 40) * vocabs and r["tokenize"] == 2 * vocabs  # ceil(40e9 / 256e6), ceil(10e9 / 256e6)
    assert r["family_tokenizer"] == r["bootstrap_base"] == r["bootstrap_instruct"] == 1 and "fetch_model" not in r


def test_reproduce_is_the_default_made_larger(tmp_path):
    """configs/reproduce.yaml is layered on config.yaml (make reproduce): the same DAG, job for job,
    with a base model that reads more Russian, more CPT, a donor wide enough for OMP's k terms."""
    from snakemake.utils import update_config

    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    merged = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(merged, yaml.safe_load((ROOT / "configs" / "reproduce.yaml").read_text()))
    default, merged = validate_config(default, SCHEMA), validate_config(merged, SCHEMA)
    assert merged["experiment"] == "reproduce" and merged["corpus"] == default["corpus"]
    boot, dboot = merged["models"]["bootstrap"], default["models"]["bootstrap"]
    assert boot["target_bytes"] >= 10 * dboot["target_bytes"] and boot["base"]["max_steps"] > dboot["base"]["max_steps"]
    assert boot["base"]["lr"] == dboot["base"]["lr"]  # a key it does not name is the default's
    assert merged["pretrain"]["max_steps"] >= 4 * default["pretrain"]["max_steps"]
    assert merged["pretrain"]["source_share"] == default["pretrain"]["source_share"] > 0
    assert merged["transfer"]["plm"]["hidden_size"] > 2 * merged["transfer"]["omp"]["k"]
    jobs = {}
    for name, cfg in (("default", default), ("reproduce", merged)):
        cfg["results_dir"] = str(tmp_path / name)
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
        out = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--configfile", str(tmp_path / f"{name}.yaml")],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        found = re.findall(r"^(?:local)?rule (\w+):", out, re.M)
        jobs[name] = {r: found.count(r) for r in set(found)}
    assert jobs["reproduce"] == jobs["default"] and sum(jobs["default"].values()) > 100

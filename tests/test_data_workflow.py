"""The sharded data path through Snakemake: the smoke corpus split into four training shards (the
same documents as the session smoke run's one shard), each tokenized by a job of its own once per
vocabulary and gathered by CPT; a re-run does nothing, and a changed CPT setting re-runs CPT
alone, on the same token files."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter

import numpy as np
import pytest
import yaml
from snakemake_run import ROOT, SNAKEMAKE, smoke_config

from langadapt.data.stream import digest, iter_docs, shard_of

pytestmark = pytest.mark.workflow


def planned(configfile) -> dict[str, int]:
    target = f"{yaml.safe_load(configfile.read_text())['results_dir']}/sharded/cpt/bpe/mean"
    out = subprocess.run([SNAKEMAKE, target, "-n", "--cores", "2", "--configfile", str(configfile)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    jobs = re.findall(r"^(?:local)?rule (\w+):", out, re.M)
    return dict(Counter(jobs))


@pytest.fixture(scope="module")
def sharded(smoke, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sharded")
    cfg = smoke_config(tmp, experiment="sharded", corpus=corpus_of(smoke[1]))
    res = tmp / "results" / "sharded"
    run_snakemake_target(cfg, res / "cpt" / "bpe" / "mean")
    return cfg, res, smoke[1]


def corpus_of(smoke):
    """The smoke run's cleaned sources as `files` sources (their size on disk plans the shards: the
    400 kB cap of Russian in 4 shards of 100 kB), nothing downloaded again."""
    src = smoke / "corpus" / "sources"
    return {"shard_bytes": 100_000, "parallel": {"enabled": False},
            "sources": {f"{lang}_text": {"kind": "files", "lang": lang, "unit": "line",
                                         "paths": [str(src / f"{lang}_fortunes.txt")]} for lang in ("ru", "en")}}


def run_snakemake_target(configfile, target) -> None:
    done = subprocess.run([SNAKEMAKE, str(target), "--cores", "2", "--configfile", str(configfile)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_training_text_is_split_into_shards_of_the_same_documents(sharded):
    _, res, smoke = sharded
    shards = sorted((res / "corpus" / "ru" / "train").glob("part-*.txt"))
    assert [p.name for p in shards] == [f"part-{i:05d}.txt" for i in range(4)]
    parts = [list(iter_docs([p])) for p in shards]
    assert Counter(d for p in parts for d in p) == Counter(iter_docs([smoke / "corpus" / "ru" / "train"]))
    assert all(shard_of(digest(d), 4) == i for i, p in enumerate(parts) for d in p)


def test_each_shard_is_tokenized_once_and_cpt_reads_them_all(sharded):
    configfile, res, smoke = sharded
    tokens = sorted((res / "tokens" / "bpe" / "ru").iterdir())
    assert [t.name for t in tokens] == [f"part-{i:05d}" for i in range(4)]
    metas = [json.loads((t / "meta.json").read_text()) for t in tokens]
    assert all(m["dtype"] == "uint16" and m["tokens"] == len(np.fromfile(t / "tokens.bin", np.uint16))
               for t, m in zip(tokens, metas))
    assert sum(m["documents"] for m in metas) == json.loads((res / "corpus" / "ru" / "split.json").read_text())[
        "train"]["documents"]
    cfg = yaml.safe_load(configfile.read_text())["pretrain"]
    cpt = json.loads((res / "cpt" / "bpe" / "mean" / "cpt_metrics.json").read_text())
    blocks = sum(m["tokens"] // cfg["block_size"] for m in metas)
    target = min(blocks, (cfg.get("max_tokens") or blocks * cfg["block_size"]) // cfg["block_size"])
    # and the source language's share (pretrain.source_share), from its own token files
    share = cfg["source_share"]
    assert cpt["train_blocks"] - cpt["source_blocks"] == target
    assert cpt["source_blocks"] == round(target * share / (1 - share)) > 0
    en_parts = sorted((res / "corpus" / "en" / "train").glob("part-*.txt"))
    assert [t.name for t in sorted((res / "tokens" / "bpe" / "en").iterdir())] == [p.stem for p in en_parts]
    # done: nothing to re-run; another learning rate re-runs CPT alone, on the same token files
    assert planned(configfile) == {}
    changed = smoke_config(configfile.parent, name="lr.yaml", experiment="sharded", corpus=corpus_of(smoke),
                           pretrain={"lr": 0.001})
    assert planned(changed) == {"pretrain": 1}

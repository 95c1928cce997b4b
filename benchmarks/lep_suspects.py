"""Why LEP lost the instruct model's ability (issue 22): the suspects of METHODS.md §14, one at a
time, on a finished default run.

For each instruct-tuning learning rate (how far the instruct model drifts from its base) and each
CPT setting (English share of the blocks, steps: how often a new token is updated), on the
`bpe/mean` chain: the instruct model's relative change against its base (output head, input
embeddings, inner layers), and the bits per byte and word-order accuracy (the evaluation's
multiple-choice items) of the original instruct model and of its swap, overlap and conversion
propagations. The instruct models and CPTs are re-made here from the run's base model, corpus,
initialized model and overlap (nothing in the run is changed); the numbers are this script's
own (64 held-out blocks of 128 tokens, 64 items), not lm-eval's, so compare them with each other.

    .venv/bin/python benchmarks/lep_suspects.py [--results results/default] [--configfile config.yaml]
        [--instruct-lr 0.001 0.0003]
        [--cpt 0:150 0.25:150 0.25:600]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langadapt.core.io import read_lines
from langadapt.eval.evaluate import choice_docs
from langadapt.models.io import load_model, load_tokenizer
from langadapt.train.bootstrap import build_instruct_model
from langadapt.train.lep import PROPAGATE, propagate
from langadapt.train.pretrain import continued_pretraining
from langadapt.train.trainer import mean_loss, pack_blocks
from langadapt.vocab.overlap import load_overlap
from langadapt.vocab.tokens import TokenShards, tokenize_shard


def bits_per_byte(model, tok, docs: list[str]) -> float:
    blocks = pack_blocks(tok, docs, 128)[:64]
    nats = mean_loss(model, blocks) * blocks.size
    return nats / math.log(2) / len(tok.decode(blocks.reshape(-1)).encode("utf-8"))


@torch.no_grad()
def word_order_accuracy(model, tok, items: list[dict]) -> float:
    right = 0
    for it in items:
        n = len(tok(it["context"])["input_ids"])
        scores = []
        for choice in it["choices"]:
            ids = tok(it["context"] + choice)["input_ids"]
            logp = model(torch.tensor([ids])).logits.log_softmax(-1)[0]
            scores.append(float(logp[torch.arange(n - 1, len(ids) - 1), torch.tensor(ids[n:])].sum()))
        right += max(range(len(scores)), key=scores.__getitem__) == it["label"]
    return right / len(items)


def drift(inst, base) -> dict:
    """Relative Frobenius change of the instruct model against its base."""
    rel = {n: float((p - q).norm() / q.norm()) for (n, p), (_, q) in zip(inst.state_dict().items(), base.state_dict().items())}
    inner = [v for k, v in rel.items() if ".layers." in k]
    return {"head": rel.get("lm_head.weight", float("nan")), "embeddings": rel["model.embed_tokens.weight"],
            "inner": sum(inner) / len(inner)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="results/default")
    ap.add_argument("--configfile", default=str(ROOT / "config.yaml"))
    ap.add_argument("--vocab", default="bpe")
    ap.add_argument("--instruct-lr", type=float, nargs="+", default=[0.001, 0.0003])
    ap.add_argument("--cpt", nargs="+", default=["0:150", "0.25:150", "0.25:600"],
                    help="english_share:steps of each CPT")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    res, v = Path(args.results), args.vocab
    cfg = yaml.safe_load(Path(args.configfile).read_text())  # the run's config: its instruct-tuning settings
    boot = cfg["models"]["bootstrap"]
    heldout = {lang: read_lines(res / "corpus" / lang / "heldout.txt") for lang in ("ru", "en")}
    items = {lang: choice_docs(docs, 64, 160) for lang, docs in heldout.items()}
    base_dir = res / "models" / "source" / "base"
    base = load_model(base_dir)
    overlap = load_overlap(res / "overlap" / f"{v}.json")
    work = Path(tempfile.mkdtemp(prefix="lep-suspects-"))

    def shards(lang):
        dirs = sorted((res / "tokens" / v / lang).glob("part-*"))
        if not dirs:  # a run without English CPT data: tokenize the English text here
            dirs = [work / "tokens" / lang / p.stem for p in sorted((res / "corpus" / lang / "train").glob("part-*.txt"))]
            for d, p in zip(dirs, sorted((res / "corpus" / lang / "train").glob("part-*.txt"))):
                tokenize_shard(res / "tokenizers" / v, p, d)
        return TokenShards(dirs, 64)

    ru, en = shards("ru"), shards("en")
    cpts = {}
    for spec in args.cpt:
        share, steps = float(spec.split(":")[0]), int(spec.split(":")[1])
        model, tok = load_model(res / "init" / v / "mean"), load_tokenizer(res / "init" / v / "mean")
        t = time.time()
        continued_pretraining(model, tok, ru, heldout["ru"][:50], work / "trainer", block_size=64, batch_size=8,
                              lr=0.006, weight_decay=0.1, warmup_steps=10, max_steps=steps, seed=0,
                              source_shards=en, source_share=share)
        for p in model.parameters():
            p.requires_grad_(True)
        cpts[spec] = (model.eval(), tok)
        print(f"CPT english {share:.2f}, {steps} steps: {time.time() - t:.0f} s; bpb ru "
              f"{bits_per_byte(model, tok, heldout['ru']):.3f} en {bits_per_byte(model, tok, heldout['en']):.3f}",
              flush=True)

    rows = []
    for lr in args.instruct_lr:
        out = work / f"instruct-{lr}"
        t = time.time()
        build_instruct_model(base_dir, res / "corpus" / "en" / "train" / "part-00000.txt", out,
                             n_examples=boot["instruct_examples"], max_len=boot["max_len"],
                             train_cfg={**boot["instruct"], "lr": lr}, seed=0, lang="en")
        inst, itok = load_model(out).eval(), load_tokenizer(out)
        d = drift(inst, base)
        print(f"instruct lr {lr}: {time.time() - t:.0f} s; drift head {d['head']:.2f} embeddings "
              f"{d['embeddings']:.2f} inner {d['inner']:.2f}", flush=True)

        def scores(m, t_):
            return {f"{k}_{lang}": round(f(m, t_, x), 3) for lang in ("ru", "en")
                    for k, f, x in (("bpb", bits_per_byte, heldout[lang]), ("mc", word_order_accuracy, items[lang]))}

        rows.append({"instruct_lr": lr, "cpt": "-", "model": "original instruct", **scores(inst, itok)})
        for spec, (cpt, ctok) in cpts.items():
            for method in PROPAGATE:
                m, t_ = propagate(copy.deepcopy(inst), itok, cpt, copy.deepcopy(ctok), method, base, overlap)
                rows.append({"instruct_lr": lr, "cpt": spec, "model": method, **scores(m.eval(), t_)})
                print(json.dumps(rows[-1]), flush=True)
    cols = ["instruct_lr", "cpt", "model", "bpb_ru", "bpb_en", "mc_ru", "mc_en"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print(f"\n(instruct models and CPTs under {work})")


if __name__ == "__main__":
    main()

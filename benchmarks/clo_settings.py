"""CLO's settings against answering in the language asked (issue 22): on a finished run's instruct
model and translated conversations, CLO (or SFT) is re-trained for each setting and asked
templated instructions in both languages (the response-language task's items, greedy); printed:
the share answered in the language asked and the answers' length per passage character.

    .venv/bin/python benchmarks/clo_settings.py [--results results/default] [--n 200] [--items 24]
        [--settings sft clo:0.1:1:target:0.0005 clo:0.1:0:target:0.0005 clo:0.1:1:both:0.0005]

A setting is `sft`, or `clo:BETA:NLL_WEIGHT:NLL_ON:LR`. Nothing in the run is changed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langadapt.core.io import read_lines
from langadapt.core.stage import setup
from langadapt.eval.evaluate import lang_docs
from langadapt.eval.metrics import lang_scores
from langadapt.models.generate import generate_replies
from langadapt.models.io import load_chat_model
from langadapt.train.clo import build_cross_lingual


def answers(model_dir, items: dict[str, list[dict]]) -> dict[str, float]:
    model, tok = load_chat_model(model_dir, False, "clo_settings")
    out = {}
    for lang, docs in items.items():
        replies = generate_replies(model, tok, [d["prompt"] for d in docs], 64, len(docs))
        out[f"in {lang}"] = sum(lang_scores(d, r)["in_language"] for d, r in zip(docs, replies)) / len(replies)
        out[f"length {lang}"] = sum(map(len, replies)) / max(1, sum(len(d["passage"]) for d in docs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default="results/default")
    ap.add_argument("--n", type=int, default=200, help="translated conversations trained on")
    ap.add_argument("--items", type=int, default=24, help="templated instructions per language")
    ap.add_argument("--settings", nargs="+", default=["sft", "clo:0.1:1:target:0.0005", "clo:0.1:0:target:0.0005",
                                                       "clo:0.1:1:both:0.0005"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--source", default="en", help="the run's languages.source")
    ap.add_argument("--target", default="ru", help="the run's languages.target")
    args = ap.parse_args()
    setup(threads=args.threads)
    res = Path(args.results)
    langs = (args.source, args.target)
    items = {lang: lang_docs(read_lines(res / f"corpus/{lang}/heldout.txt"), args.items, 160, lang, langs)
             for lang in langs}
    rows = [("original instruct", 0.0, answers(res / "models/source/instruct", items))]
    for spec in args.settings:
        objective, *rest = spec.split(":")
        beta, nll_weight, nll_on, lr = rest if rest else ("0.1", "1", "target", "0.0005")
        t = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            build_cross_lingual(res / "models/source/instruct", res / "translate/instructions.jsonl", Path(tmp) / "m",
                                objective=objective, n=args.n, beta=float(beta), nll_weight=float(nll_weight),
                                nll_on=nll_on, train_cfg={"lr": float(lr), "batch_size": 8, "logging_steps": 1000},
                                max_len=256, seed=0, langs=langs)
            rows.append((spec, time.time() - t, answers(Path(tmp) / "m", items)))
    print(f"\n{'setting':32s} {'train s':>8s} " + " ".join(f"{k:>10s}" for k in rows[0][2]))
    for name, secs, got in rows:
        print(f"{name:32s} {secs:8.0f} " + " ".join(f"{v:10.2f}" for v in got.values()))


if __name__ == "__main__":
    main()

"""Tokenizer training throughput (MB/s) per vocabulary variant on the default corpus.

Builds every variant of the config exactly as the `tokenizer` rule does (SentencePiece
training, merge into the source vocabulary, HF export, held-out metrics) in a scratch
directory and prints a table. The corpus and source tokenizer come from the experiment's
results; missing ones are built first with snakemake.

    .venv/bin/python benchmarks/tokenizer_throughput.py [--configfile config.yaml] [--repeat 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from langadapt.vocab.build import build_tokenizer
    from langadapt.workflow import validate_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(ROOT / "config.yaml"))
    ap.add_argument("--repeat", type=int, default=1, help="runs per variant; the best time is kept")
    ap.add_argument("--threads", type=int, default=None, help="SentencePiece threads (default: config threads.train)")
    args = ap.parse_args()

    cfg = validate_config(yaml.safe_load(Path(args.configfile).read_text()), ROOT / "schemas/config.schema.yaml")
    res = Path(cfg["results_dir"]) / cfg["experiment"]
    if not res.is_absolute():
        res = ROOT / res
    tgt, src = cfg["languages"]["target"], cfg["languages"]["source"]
    source_tok = res / "models/source/tokenizer" if cfg["models"]["kind"] == "bootstrap" else res / "models/source/base"
    needed = [res / f"corpus/{tgt}/train.txt", res / f"corpus/{src}/train.txt", res / f"corpus/{tgt}/heldout.txt",
              res / f"corpus/{src}/heldout.txt", source_tok]
    missing = [p for p in needed if not p.exists()]
    if missing:
        print(f"building {len(missing)} missing input(s) with snakemake ...", flush=True)
        subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--cores", "2", "--configfile",
                        args.configfile, *map(str, missing)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    tc = cfg["tokenizer"]
    threads = args.threads or cfg["threads"]["train"]
    print(f"corpus: {needed[0].stat().st_size / 1e6:.1f} MB {tgt} + {tc['source_share']:.0%} {src} bytes; "
          f"{threads} SentencePiece threads")
    header = f"{'variant':<12}{'kind':<11}{'vocab':>8}{'train MB':>10}{'train s':>9}{'MB/s':>8}{'build s':>9}"
    print(header)
    print("-" * len(header))
    for name, variant in tc["variants"].items():
        best = None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                st = build_tokenizer(needed[0], needed[1], {tgt: needed[2], src: needed[3]}, source_tok,
                                     Path(tmp) / name, variant=variant, source_share=tc["source_share"],
                                     byte_fallback=tc["byte_fallback"], character_coverage=tc["character_coverage"],
                                     input_sentence_size=tc["input_sentence_size"], threads=threads, name=name)
                total = time.perf_counter() - t0
            if best is None or st["training"]["seconds"] < best[0]["training"]["seconds"]:
                best = (st, total)
        st, total = best
        tr = st["training"]
        print(f"{name:<12}{st['kind']:<11}{st['size']:>8}{tr['bytes'] / 1e6:>10.2f}{tr['seconds']:>9.2f}"
              f"{tr['mb_per_s']:>8.2f}{total:>9.2f}", flush=True)


if __name__ == "__main__":
    main()

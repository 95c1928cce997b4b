"""LEP Table 2 with the real tokenizers: characters per token and tokens per word on held-out
Russian and English for the real LLaMa-3 and Mistral tokenizers and every variant the paper
builds on them, the paper's numbers beside ours.

Each variant is built as the `tokenizer` rule builds it, on the default experiment's corpus
(built first with snakemake if missing), at the paper's size or, where the corpus cannot fill
it, at the largest size SentencePiece says it supports. Prints a markdown table (docs/results.md
carries it).

    .venv/bin/python benchmarks/table2.py [--configfile config.yaml] [--families llama3 mistral]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the paper's variants per family (LEP §2.1.1, Table 2): kind, size (bpe/unigram) or donor size, keep
PAPER_VARIANTS = {
    "llama3": {"bpe": ("bpe", 128000, None), "unigram": ("unigram", 128000, None),
               "extended": ("extended", 64000, None), "optimized": ("optimized", 64000, 0.5)},
    "mistral": {"bpe": ("bpe", 32000, None), "unigram": ("unigram", 32000, None),
                "extended": ("extended", 32000, None)},
}


def build(kind: str, size: int, keep, corpus: Path, source: Path, out: Path, tc: dict, threads: int):
    """(stats, size used): at `size`, or at the largest the corpus supports."""
    from langadapt.core.errors import LangadaptError
    from langadapt.vocab.build import build_tokenizer

    key = "donor_size" if kind in ("extended", "optimized") else "size"
    variant = {"kind": kind, key: size, **({"keep": keep} if keep else {})}
    try:
        stats = build_tokenizer(corpus / "ru/train.txt", corpus / "en/train.txt",
                                {lang: str(corpus / f"{lang}/heldout.txt") for lang in ("en", "ru")}, source, out,
                                variant=variant, source_share=tc["source_share"], byte_fallback=tc["byte_fallback"],
                                character_coverage=tc["character_coverage"],
                                input_sentence_size=tc["input_sentence_size"], threads=threads, name=kind)
        return stats, size
    except LangadaptError as e:
        most = re.search(r"at most (\d+) tokens", str(e))
        if not most:
            raise
        smaller = int(most.group(1)) if int(most.group(1)) < size else int(size * 0.9)
        return build(kind, smaller, keep, corpus, source, out, tc, threads)


def main() -> None:
    from langadapt.eval.report import PAPER_CHARS_PER_TOKEN_RU, PAPER_VOCAB_SIZE
    from langadapt.vocab.families import fetch_family
    from langadapt.workflow import validate_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(ROOT / "config.yaml"))
    ap.add_argument("--families", nargs="+", default=list(PAPER_VARIANTS))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    cfg = validate_config(yaml.safe_load(Path(args.configfile).read_text()), ROOT / "schemas/config.schema.yaml")
    res = Path(cfg["results_dir"]) / cfg["experiment"]
    corpus = (res if res.is_absolute() else ROOT / res) / "corpus"
    needed = [corpus / f"{lang}/{part}.txt" for lang in ("en", "ru") for part in ("train", "heldout")]
    if not all(p.exists() for p in needed):
        print("building the corpus with snakemake ...", flush=True)
        subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--cores", "2", "--configfile",
                        args.configfile, *map(str, needed)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    mb = (corpus / "ru/train.txt").stat().st_size / 1e6
    print(f"corpus: {mb:.1f} MB of Russian training text; held-out: "
          f"{sum(1 for _ in open(corpus / 'ru/heldout.txt', encoding='utf-8'))} Russian documents\n")
    head = ("| family | tokenizer | vocabulary (paper) | chars/token ru (paper) | tokens/word ru | "
            "chars/token en | tokens/word en | build s |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for fam in args.families:
            source = fetch_family(fam, Path(tmp) / fam / "source")
            for name, (kind, size, keep) in PAPER_VARIANTS[fam].items():
                t0 = time.perf_counter()
                stats, used = build(kind, size, keep, corpus, source, Path(tmp) / fam / name, cfg["tokenizer"],
                                    args.threads)
                secs = time.perf_counter() - t0
                if name == "bpe":  # the source row, measured on the same held-out text
                    s = stats["source_heldout"]
                    lines.append(f"| {fam} | source | {stats['vocabulary']['source_size']} "
                                 f"({PAPER_VOCAB_SIZE[fam]['source']}) | {s['ru']['chars_per_token']:.2f} "
                                 f"({PAPER_CHARS_PER_TOKEN_RU[fam]['source']:.2f}) | {s['ru']['tokens_per_word']:.2f} | "
                                 f"{s['en']['chars_per_token']:.2f} | {s['en']['tokens_per_word']:.2f} | |")
                h = stats["heldout"]
                what = f"{name} ({'donor ' if kind in ('extended', 'optimized') else ''}{used}" + \
                       (f" of the paper's {size})" if used != size else ")")
                lines.append(f"| {fam} | {what} | {stats['size']} ({PAPER_VOCAB_SIZE[fam][name]}) | "
                             f"{h['ru']['chars_per_token']:.2f} ({PAPER_CHARS_PER_TOKEN_RU[fam][name]:.2f}) | "
                             f"{h['ru']['tokens_per_word']:.2f} | {h['en']['chars_per_token']:.2f} | "
                             f"{h['en']['tokens_per_word']:.2f} | {secs:.0f} |")
                print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()

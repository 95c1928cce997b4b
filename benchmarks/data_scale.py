"""The data path at 1×, 10× and 100× the default's Russian text: wall time, MB/s and peak memory
of each stage, each run in a process of its own.

The corpus is the default run's Russian training text (6 MB), grown to 10× and 100× with
documents recombined from it (the first half of one document's words and the second half of
another's, so the text stays Russian and every document is new). Then, as the workflow runs
them: the `files` source (streamed cleaning and de-duplication), the split into shards of
`--shard-mb`, a 16,000-token BPE vocabulary trained on a sample of `--sample-mb`, every
shard tokenized into token files (`--threads` encoding processes), and CPT's data loader reading
`--batches` shuffled batches of 8 × 512 tokens from the memory maps. Goals on 2 cores: peak
memory flat (100× within 1.5× of 1×, under 2 GB), time linear in the corpus, tokenization at
20 MB/s or more.

    .venv/bin/python benchmarks/data_scale.py [--scales 1 10 100] [--corpus DIR_OR_FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = ROOT / "bench-results" / "data_scale"
CANDIDATES = [ROOT / "bench-results" / "default" / "corpus" / "ru" / "train",
              ROOT / "results" / "default" / "corpus" / "ru" / "train"]


def grow(corpus: Path, out_dir: Path, scale: int, seed: int = 0) -> int:
    """`scale` times the corpus into out_dir/*.txt (one document per line): the corpus itself, then
    recombined documents; returns the bytes written."""
    from langadapt.data.stream import iter_docs

    docs = list(iter_docs([corpus]))
    halves = [(w[: len(w) // 2], w[len(w) // 2:]) for w in (d.split(" ") for d in docs)]
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for r in range(scale):
        with open(out_dir / f"part{r:03d}.txt", "w", encoding="utf-8") as f:
            if r == 0:
                lines = docs
            else:
                other = list(range(len(docs)))
                rng.shuffle(other)
                lines = (" ".join(halves[i][0] + halves[j][1]) for i, j in enumerate(other))
            for line in lines:
                f.write(line + "\n")
                total += len(line.encode("utf-8")) + 1
    return total


# ---------------------------------------------------------------- the stages, one per process


def stage_source(work: Path, args) -> dict:
    from langadapt.data.corpus import write_source

    src = {"kind": "files", "lang": "ru", "paths": [str(work / "raw" / "*.txt")], "unit": "line"}
    s = write_source("ru_scaled", src, [], work / "sources" / "ru.txt", work / "sources" / "ru.json", min_chars=20,
                     min_script_ratio=0.5)
    return {"in_bytes": sum(p.stat().st_size for p in (work / "raw").glob("*.txt")), "documents": s["documents"]}


def stage_split(work: Path, args) -> dict:
    from langadapt.data.corpus import write_split

    size = (work / "sources" / "ru.txt").stat().st_size
    shards = max(1, -(-size // (args.shard_mb << 20)))
    s = write_split([str(work / "sources" / "ru.txt")], work / "ru" / "train", work / "ru" / "heldout.txt",
                    work / "ru" / "split.json", shards=shards, heldout_fraction=0.03, max_heldout_docs=200,
                    max_train_bytes=None)
    return {"in_bytes": size, "shards": shards, "documents": s["train"]["documents"]}


def stage_tokenizer(work: Path, args) -> dict:
    from langadapt.core.io import write_lines
    from langadapt.data.stream import read_sample
    from langadapt.vocab.sentencepiece import sentencepiece_to_hf, train_sentencepiece

    sample = read_sample(work / "ru" / "train", args.sample_mb << 20)
    write_lines(work / "tok_train.txt", sample)
    model = train_sentencepiece(work / "tok_train.txt", work / "spm", "bpe", 16000, threads=args.threads)
    (work / "tok").mkdir(exist_ok=True)
    shutil.move(model, work / "tok" / "spm.model")  # kept beside the tokenizer, as the workflow's bpe variant
    sentencepiece_to_hf(work / "tok" / "spm.model", work / "tok").save_pretrained(work / "tok")
    return {"in_bytes": (work / "tok_train.txt").stat().st_size}


def stage_tokenize(work: Path, args) -> dict:
    from langadapt.data.stream import corpus_files
    from langadapt.vocab.tokens import tokenize_shard

    shards = corpus_files([work / "ru" / "train"])
    tokens = 0
    for i, s in enumerate(shards):
        tokens += tokenize_shard(work / "tok", s, work / "tokens" / f"part-{i:05d}", threads=args.threads)["tokens"]
    return {"in_bytes": sum(s.stat().st_size for s in shards), "tokens": tokens}


def stage_batches(work: Path, args) -> dict:
    import torch

    from langadapt.train.trainer import TokenBlockDataset
    from langadapt.vocab.tokens import TokenShards

    shards = TokenShards(sorted((work / "tokens").iterdir()), 512)
    loader = torch.utils.data.DataLoader(TokenBlockDataset(shards), batch_size=8, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))
    n = 0
    for n, batch in enumerate(loader, 1):
        assert batch["input_ids"].shape == (8, 512)
        if n == args.batches:
            break
    return {"in_bytes": n * 8 * 512 * 2, "blocks": len(shards)}


STAGES = {"source": stage_source, "split": stage_split, "tokenizer": stage_tokenizer, "tokenize": stage_tokenize,
          "batches": stage_batches}


def run_stage(name: str, work: Path, args) -> dict:
    """Run a stage in a fresh process: its seconds (imports left out), peak RSS and what it reports."""
    cmd = [sys.executable, __file__, "--stage", name, "--work", str(work), "--shard-mb", str(args.shard_mb),
           "--sample-mb", str(args.sample_mb), "--threads", str(args.threads), "--batches", str(args.batches)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"stage {name} failed:\n{done.stderr[-3000:]}")
    return {"stage": name, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--shard-mb", type=int, default=64)
    ap.add_argument("--sample-mb", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=2000)
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        import logging

        import torch  # noqa: F401  (imports before the clock: start-up is not the stage's time)

        import langadapt.data.corpus, langadapt.train.trainer, langadapt.vocab.sentencepiece  # noqa: E401, F401
        import langadapt.vocab.tokens  # noqa: F401

        logging.basicConfig(level=logging.WARNING)
        t0 = time.perf_counter()
        out = STAGES[args.stage](args.work, args)
        out["seconds"] = time.perf_counter() - t0
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    corpus = args.corpus or next((c for c in CANDIDATES if c.exists()), None)
    if corpus is None:
        sys.exit("no Russian training text: run the default experiment first (make run or make bench)")
    print(f"corpus {corpus}; shards of {args.shard_mb} MB, tokenizer sample {args.sample_mb} MB, "
          f"{args.threads} threads\n")
    print(f"{'scale':>5} {'stage':<10} {'MB in':>8} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}  notes")
    for scale in args.scales:
        work = SCRATCH / f"x{scale}"
        shutil.rmtree(work, ignore_errors=True)
        grow(corpus, work / "raw", scale)
        for name in STAGES:
            r = run_stage(name, work, args)
            mb = r.pop("in_bytes") / 1e6
            notes = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("stage", "seconds", "peak_rss_mb"))
            print(f"{scale:>5} {name:<10} {mb:8.1f} {r['seconds']:8.1f} {mb / r['seconds']:7.1f} "
                  f"{r['peak_rss_mb']:12.0f}  {notes}", flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

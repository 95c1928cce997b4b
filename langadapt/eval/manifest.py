"""The reproducibility manifest: sha256 of every result file of an experiment.

Two runs of one config give the same manifest (tests/test_reliability.py): every result is
written reproducibly (seeded training on one thread order, fastText on one worker, archives
without timestamps, no absolute paths or timings inside). What is not a result is left out:
logs and Snakemake's benchmark files (timings), CPT checkpoints (removed when CPT ends) and the
empty markers Snakemake puts in directory outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

from langadapt.core.io import sha256

NOT_RESULTS = ("logs", "benchmarks", "checkpoints")
MARKERS = (".snakemake_timestamp",)


def result_files(root) -> list[str]:
    """Every result file under `root`, as sorted POSIX paths relative to it."""
    root = Path(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in NOT_RESULTS]
        out += [(rel / f).as_posix() for f in filenames if f not in MARKERS]
    return sorted(out)


def write_manifest(root, out_tsv) -> dict[str, str]:
    """`out_tsv` (sha256, bytes, path per line) for every result file under `root` but itself."""
    root, out_tsv = Path(root), Path(out_tsv)
    skip = out_tsv.resolve().relative_to(root.resolve()).as_posix() if out_tsv.resolve().is_relative_to(
        root.resolve()) else None
    files = [f for f in result_files(root) if f != skip]
    digests = {f: sha256(root / f) for f in files}
    out_tsv.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_tsv.with_name(f".{out_tsv.name}.tmp")
    tmp.write_text("sha256\tbytes\tpath\n" + "".join(
        f"{digests[f]}\t{(root / f).stat().st_size}\t{f}\n" for f in files), encoding="utf-8")
    tmp.replace(out_tsv)
    return digests


def read_manifest(path) -> dict[str, str]:
    """{path: sha256} of a manifest."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()[1:]
    return {p: h for h, _, p in (line.split("\t", 2) for line in lines)}

"""Wall and CPU time of every stage of a finished run, from Snakemake's benchmark files, and the
time of a no-op re-run; with --cold, of a cold run first.

Each job writes `benchmarks/{rule}/{wildcards}.tsv` (wall seconds `s`, `cpu_time`, `max_rss`)
when it ends. Per rule this prints the job count, summed wall and CPU seconds, the longest
job and the peak memory; then every evaluation (lm-eval time per model), and the run's span
from the first job's start to the last job's end; lm-eval time per model comes from the
evaluation logs (one job may evaluate a whole stage). With --noop it times `snakemake` on the
finished results, which must find nothing to do. With --cold it first runs the experiment
from nothing into `bench-results/` (a scratch results_dir of its own, emptied first; the
experiment's own results are never touched) and times it.

    .venv/bin/python benchmarks/stages.py [--configfile config.yaml] [--cold] [--noop]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent


SCRATCH = ROOT / "bench-results"


def results_root(configfile: str, results_dir: Path | None = None) -> Path:
    cfg = yaml.safe_load(Path(configfile).read_text())
    res = Path(results_dir or cfg.get("results_dir", "results")) / cfg.get("experiment", "default")
    return res if res.is_absolute() else ROOT / res


def snakemake(configfile: str, cores: int, results_dir: Path | None, *extra: str) -> tuple[float, str]:
    """Run snakemake; return its wall seconds and output."""
    smk = str(Path(sys.executable).with_name("snakemake"))
    over = ["--config", f"results_dir={results_dir}"] if results_dir else []
    t0 = time.perf_counter()
    proc = subprocess.run([smk, "--cores", str(cores), "--configfile", configfile, *over, *extra], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"snakemake failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0, proc.stdout + proc.stderr


def job_times(res: Path) -> pd.DataFrame:
    """One row per job: rule, job (its wildcards path), wall s, cpu s, max_rss MB, start and end."""
    rows = []
    for f in sorted((res / "benchmarks").rglob("*.tsv")):
        rel = f.relative_to(res / "benchmarks").with_suffix("")
        t = pd.read_csv(f, sep="\t").iloc[-1]
        end = f.stat().st_mtime
        rows.append({"rule": rel.parts[0], "job": "/".join(rel.parts[1:]) or "-", "wall_s": float(t["s"]),
                     "cpu_s": float(t["cpu_time"]), "max_rss_mb": float(t["max_rss"]), "start": end - float(t["s"]),
                     "end": end})
    if not rows:
        sys.exit(f"no benchmark files under {res}/benchmarks: run the experiment first")
    return pd.DataFrame(rows)


def eval_times(res: Path) -> pd.DataFrame:
    """lm-eval seconds per model, from the evaluation logs (a job per model or per stage)."""
    import re

    rows = []
    for f in sorted((res / "logs" / "evaluate").rglob("*.log")):
        for m in re.finditer(r"evaluated (\S+) in ([\d.]+) s", f.read_text(errors="replace")):
            rows.append({"model": m.group(1).split(f"{res.name}/", 1)[-1], "seconds": float(m.group(2))})
    return pd.DataFrame(rows, columns=["model", "seconds"])


def stage_table(jobs: pd.DataFrame) -> pd.DataFrame:
    g = jobs.groupby("rule")
    out = pd.DataFrame({"jobs": g.size(), "wall_s": g["wall_s"].sum(), "cpu_s": g["cpu_s"].sum(),
                        "longest_s": g["wall_s"].max(), "max_rss_mb": g["max_rss_mb"].max()})
    return out.sort_values("wall_s", ascending=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(ROOT / "config.yaml"))
    ap.add_argument("--cold", action="store_true", help=f"first run the experiment from nothing into {SCRATCH.name}/")
    ap.add_argument("--noop", action="store_true", help="also time a no-op re-run (always after --cold)")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    scratch = None
    if args.cold:
        import shutil

        scratch = SCRATCH
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"cold run of {args.configfile} into {scratch} ...", flush=True)
        seconds, _ = snakemake(args.configfile, args.cores, scratch)
        print(f"cold run: {seconds / 60:.1f} min wall\n")
    res = results_root(args.configfile, scratch)
    jobs = job_times(res)
    pd.set_option("display.width", 160)
    print(f"# Stages of {res} ({len(jobs)} jobs)\n")
    print(stage_table(jobs).round(1).to_string())
    span = jobs["end"].max() - jobs["start"].min()
    print(f"\nspan, first job start to last job end: {span / 60:.1f} min; summed job wall "
          f"{jobs['wall_s'].sum() / 60:.1f} min, CPU {jobs['cpu_s'].sum() / 60:.1f} min")
    ev = eval_times(res).sort_values("seconds", ascending=False)
    if len(ev):
        print(f"\n# lm-eval per model ({len(ev)} models, {jobs['rule'].eq('evaluate').sum()} jobs: "
              f"mean {ev['seconds'].mean():.1f} s, max {ev['seconds'].max():.1f} s, start-up not included)\n")
        print(ev.round(1).to_string(index=False))
    if args.noop or args.cold:
        seconds, out = snakemake(args.configfile, args.cores, scratch)
        said = "nothing to do" if "Nothing to be done" in out else "it RAN JOBS: the results were not complete"
        print(f"\nno-op re-run: {seconds:.2f} s ({said})")


if __name__ == "__main__":
    main()

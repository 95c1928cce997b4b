from langadapt.core.stage import snakemake_job
from langadapt.transfer.vectors import build_focus_vectors

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_focus_vectors(snakemake.input.tokenizer, snakemake.input.train, snakemake.output.npz, dim=p.cfg["dim"],
                        epochs=p.cfg["epochs"], min_count=p.cfg["min_count"], seed=p.seed)

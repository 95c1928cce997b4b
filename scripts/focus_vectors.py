from langadapt.core.stage import stage
from langadapt.transfer.vectors import build_focus_vectors

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    build_focus_vectors(snakemake.input.tokenizer, snakemake.input.train, snakemake.output.npz, dim=p.cfg["dim"],
                        epochs=p.cfg["epochs"], min_count=p.cfg["min_count"], seed=p.seed)

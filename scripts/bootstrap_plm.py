from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_plm

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_plm(snakemake.input.tokenizer, snakemake.input.train, snakemake.output[0], arch=p.arch, train_cfg=p.train,
              seed=p.seed)

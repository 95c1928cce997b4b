from langadapt.core.stage import stage
from langadapt.train.bootstrap import build_plm

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    build_plm(snakemake.input.tokenizer, snakemake.input.train, snakemake.output[0], arch=p.arch, train_cfg=p.train,
              seed=p.seed)

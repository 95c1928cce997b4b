from langadapt.bootstrap import build_plm
from langadapt.common import stage

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    build_plm(snakemake.input.tokenizer, snakemake.input.train, snakemake.output[0], arch=p.arch, train_cfg=p.train,
              seed=p.seed)

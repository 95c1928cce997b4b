from langadapt.common import stage
from langadapt.pretrain import run_cpt

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    run_cpt(snakemake.input.init, snakemake.input.train, snakemake.input.heldout, snakemake.output[0], p.cfg, p.seed)

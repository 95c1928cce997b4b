from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_instruct_model

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_instruct_model(
        snakemake.input.base,
        snakemake.input.source,
        snakemake.output[0],
        n_examples=p.n_examples,
        max_len=p.max_len,
        train_cfg=p.train,
        seed=p.seed,
        lang=p.lang,
        family=p.family,
    )

from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_base_model

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_base_model(
        snakemake.input.tokenizer,
        snakemake.input.source,
        snakemake.input.target,
        snakemake.output[0],
        arch=p.arch,
        train_cfg=p.train,
        source_bytes=p.source_bytes,
        target_bytes=p.target_bytes,
        seed=p.seed,
    )

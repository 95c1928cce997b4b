from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_base_model

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_base_model(
        snakemake.input.tokenizer,
        snakemake.input.en,
        snakemake.input.ru,
        snakemake.output[0],
        arch=p.arch,
        train_cfg=p.train,
        en_bytes=p.en_bytes,
        ru_bytes=p.ru_bytes,
        seed=p.seed,
    )

from langadapt.core.stage import snakemake_job
from langadapt.train.tune import build_sft_data

p = snakemake.params
with snakemake_job(snakemake):
    build_sft_data(
        snakemake.input.docs,
        snakemake.output[0],
        n=p.n,
        lang=p.lang,
        copy_fraction=p.copy_fraction,
        copy_instruction=p.copy_instruction,
        max_chars=p.max_chars,
        seed=p.seed,
    )

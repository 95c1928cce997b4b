from langadapt.core.stage import snakemake_job
from langadapt.train.tune import build_calibration_data

c = snakemake.params.cfg
with snakemake_job(snakemake, snakemake.params.seed):
    build_calibration_data(
        snakemake.input.instruct,
        snakemake.input.docs,
        snakemake.output[0],
        n=c["prompts"],
        lang=snakemake.params.lang,
        max_chars=c["max_chars"],
        max_new_tokens=c["max_new_tokens"],
        batch_size=c["batch_size"],
        seed=snakemake.params.seed,
        trust_remote_code=snakemake.params.trust_remote_code,
    )

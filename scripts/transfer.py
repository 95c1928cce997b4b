from langadapt.common import stage
from langadapt.transfer import build_init_model

with stage(snakemake.log[0], snakemake.threads):
    build_init_model(
        snakemake.input.base,
        snakemake.input.tokenizer,
        snakemake.input.overlap,
        snakemake.output[0],
        snakemake.wildcards.init,
        trust_remote_code=snakemake.params.trust_remote_code,
    )

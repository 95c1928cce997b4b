from langadapt.common import stage
from langadapt.lep import build_propagated

with stage(snakemake.log[0], snakemake.threads):
    build_propagated(
        snakemake.input.instruct,
        snakemake.input.cpt,
        snakemake.output[0],
        snakemake.wildcards.prop,
        trust_remote_code=snakemake.params.trust_remote_code,
    )

from langadapt.core.stage import snakemake_job
from langadapt.data.corpus import write_parallel

with snakemake_job(snakemake):
    write_parallel(
        snakemake.input.src,
        snakemake.input.tgt,
        tuple(snakemake.params.langs),
        snakemake.output.train,
        snakemake.output.heldout,
        heldout_fraction=snakemake.params.heldout_fraction,
        min_chars=snakemake.params.min_chars,
    )

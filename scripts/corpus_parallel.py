from langadapt.core.stage import stage
from langadapt.data.corpus import write_parallel

with stage(snakemake.log[0]):
    write_parallel(
        snakemake.input.src,
        snakemake.input.tgt,
        snakemake.params.target,
        snakemake.output.train,
        snakemake.output.heldout,
        heldout_fraction=snakemake.params.heldout_fraction,
        min_chars=snakemake.params.min_chars,
    )

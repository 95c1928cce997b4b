from langadapt.core.stage import snakemake_job
from langadapt.data.corpus import write_split

with snakemake_job(snakemake):
    write_split(
        snakemake.input.docs,
        snakemake.output.train,
        snakemake.output.heldout,
        snakemake.output.stats,
        shards=snakemake.params.shards,
        heldout_fraction=snakemake.params.heldout_fraction,
        max_heldout_docs=snakemake.params.max_heldout_docs,
        max_train_bytes=snakemake.params.max_train_bytes,
    )

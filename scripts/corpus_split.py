from langadapt.core.stage import stage
from langadapt.data.corpus import write_split

with stage(snakemake.log[0]):
    write_split(
        snakemake.input.docs,
        snakemake.output.train,
        snakemake.output.heldout,
        heldout_fraction=snakemake.params.heldout_fraction,
        max_heldout_docs=snakemake.params.max_heldout_docs,
        max_train_bytes=snakemake.params.max_train_bytes,
    )

from langadapt.core.stage import stage
from langadapt.data.corpus import write_stats

with stage(snakemake.log[0]):
    write_stats(snakemake.input.sources, snakemake.input.splits, snakemake.input.parallel, snakemake.output[0])

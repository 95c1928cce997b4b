from langadapt.core.stage import snakemake_job
from langadapt.data.corpus import write_stats

with snakemake_job(snakemake):
    write_stats(snakemake.input.sources, snakemake.input.splits, snakemake.input.parallel, snakemake.output[0])

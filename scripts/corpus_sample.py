from langadapt.core.stage import snakemake_job
from langadapt.data.stream import write_sample

with snakemake_job(snakemake):
    write_sample(snakemake.input.train, snakemake.output[0], snakemake.params.max_bytes)

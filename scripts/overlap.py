from langadapt.core.stage import snakemake_job
from langadapt.vocab.overlap import write_overlap

with snakemake_job(snakemake):
    write_overlap(snakemake.input.source, snakemake.input.tokenizer, snakemake.output[0])

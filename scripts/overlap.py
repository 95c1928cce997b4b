from langadapt.core.stage import stage
from langadapt.vocab.overlap import write_overlap

with stage(snakemake.log[0]):
    write_overlap(snakemake.input.source, snakemake.input.tokenizer, snakemake.output[0])

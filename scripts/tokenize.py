from langadapt.core.stage import snakemake_job
from langadapt.data.stream import shard_path
from langadapt.vocab.tokens import tokenize_shard

with snakemake_job(snakemake):
    tokenize_shard(snakemake.input.tokenizer, shard_path(snakemake.input.train, snakemake.wildcards.shard),
                   snakemake.output[0], threads=snakemake.threads)

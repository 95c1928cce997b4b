from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_source_tokenizer

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_source_tokenizer(
        snakemake.input.source,
        snakemake.input.target,
        snakemake.output[0],
        vocab_size=p.vocab_size,
        source_bytes=p.source_bytes,
        target_bytes=p.target_bytes,
        seed=p.seed,
    )

from langadapt.core.stage import snakemake_job
from langadapt.train.bootstrap import build_source_tokenizer

p = snakemake.params
with snakemake_job(snakemake, p.seed):
    build_source_tokenizer(
        snakemake.input.en,
        snakemake.input.ru,
        snakemake.output[0],
        vocab_size=p.vocab_size,
        en_bytes=p.en_bytes,
        ru_bytes=p.ru_bytes,
        seed=p.seed,
    )

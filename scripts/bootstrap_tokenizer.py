from langadapt.core.stage import stage
from langadapt.train.bootstrap import build_source_tokenizer

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    build_source_tokenizer(
        snakemake.input.en,
        snakemake.input.ru,
        snakemake.output[0],
        vocab_size=p.vocab_size,
        en_bytes=p.en_bytes,
        ru_bytes=p.ru_bytes,
        seed=p.seed,
    )

from langadapt.core.stage import snakemake_job
from langadapt.vocab.build import build_tokenizer

p = snakemake.params
with snakemake_job(snakemake):
    build_tokenizer(
        snakemake.input.target,
        snakemake.input.source,
        dict(zip(p.langs, snakemake.input.heldout)),
        snakemake.input.source_tokenizer,
        snakemake.output[0],
        variant=p.variant,
        source_share=p.source_share,
        byte_fallback=p.byte_fallback,
        character_coverage=p.character_coverage,
        input_sentence_size=p.input_sentence_size,
        threads=snakemake.threads,
        name=snakemake.wildcards.vocab,
        plm_dir=snakemake.input.get("plm"),
        sample_bytes=p.sample_bytes,
    )

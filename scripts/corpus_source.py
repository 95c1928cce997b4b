from langadapt.core.stage import snakemake_job
from langadapt.data.corpus import write_source

with snakemake_job(snakemake):
    write_source(
        snakemake.wildcards.source,
        snakemake.params.source,
        snakemake.input.raw,
        snakemake.output.docs,
        snakemake.output.stats,
        min_chars=snakemake.params.min_chars,
        min_script_ratio=snakemake.params.min_script_ratio,
        invalid_utf8=snakemake.params.invalid_utf8,
        lang=snakemake.params.lang,
    )

from langadapt.core.stage import snakemake_job
from langadapt.vocab.families import fetch_family

p = snakemake.params
with snakemake_job(snakemake):
    fetch_family(p.family, snakemake.output[0], source=p.source, revision=p.revision)

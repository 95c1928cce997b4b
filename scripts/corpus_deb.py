from langadapt.core.stage import snakemake_job
from langadapt.data.corpus import fetch_deb

with snakemake_job(snakemake):
    fetch_deb(snakemake.wildcards.package, snakemake.output[0], apt_update=snakemake.params.apt_update)

from langadapt.core.stage import stage
from langadapt.data.corpus import fetch_deb

with stage(snakemake.log[0]):
    fetch_deb(snakemake.wildcards.package, snakemake.output[0], apt_update=snakemake.params.apt_update)

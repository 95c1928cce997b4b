from langadapt.core.stage import snakemake_job
from langadapt.models.io import fetch_hf_model

p = snakemake.params
with snakemake_job(snakemake):
    fetch_hf_model(p.hub_id, snakemake.output[0], revision=p.revision, trust_remote_code=p.trust_remote_code,
                   chat=snakemake.wildcards.role == "instruct")

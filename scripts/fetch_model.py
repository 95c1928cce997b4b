from langadapt.core.stage import stage
from langadapt.models.io import fetch_hf_model

p = snakemake.params
with stage(snakemake.log[0]):
    fetch_hf_model(p.hub_id, snakemake.output[0], revision=p.revision, trust_remote_code=p.trust_remote_code)

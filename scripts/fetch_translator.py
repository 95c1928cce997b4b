from langadapt.core.io import atomic_dir
from langadapt.core.stage import snakemake_job
from langadapt.translate.pipeline import fetch_translation_model

p = snakemake.params
with snakemake_job(snakemake):
    with atomic_dir(snakemake.output[0]) as tmp:
        fetch_translation_model(p.hub_id, tmp, p.revision, seq2seq=p.seq2seq, trust_remote_code=p.trust_remote_code)

from langadapt.common import atomic_dir, stage
from langadapt.errors import LangadaptError
from langadapt.models import fetch_hf_model

p = snakemake.params
with stage(snakemake.log[0]):
    if not p.hub_id:
        raise LangadaptError("config key 'translate.model': the backend needs a translation model's hub id")
    with atomic_dir(snakemake.output[0]) as tmp:
        fetch_hf_model(p.hub_id, tmp, p.revision, p.trust_remote_code, seq2seq=p.seq2seq)

from langadapt.core.stage import snakemake_job
from langadapt.transfer.apply import build_init_model

i, p = snakemake.input, snakemake.params
with snakemake_job(snakemake):
    build_init_model(
        i.base,
        i.tokenizer,
        i.overlap,
        snakemake.output[0],
        snakemake.wildcards.init,
        p.cfg,
        vectors=i.get("vectors"),
        plm=i.get("plm"),
        trust_remote_code=p.trust_remote_code,
    )

from langadapt.core.stage import snakemake_job
from langadapt.train.lep import build_propagated

i = snakemake.input
with snakemake_job(snakemake):
    build_propagated(
        i.instruct,
        i.cpt,
        snakemake.output[0],
        snakemake.wildcards.prop,
        tokenizer_dir=i.tokenizer,
        base_dir=i.base,
        overlap_json=i.overlap,
        trust_remote_code=snakemake.params.trust_remote_code,
    )

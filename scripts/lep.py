from langadapt.core.stage import stage
from langadapt.train.lep import build_propagated

i = snakemake.input
with stage(snakemake.log[0], snakemake.threads):
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

from langadapt.clo import build_cross_lingual
from langadapt.common import stage

p = snakemake.params
c = p.cfg
with stage(snakemake.log[0], snakemake.threads, p.seed):
    build_cross_lingual(
        snakemake.input.model,
        snakemake.input.data,
        snakemake.output[0],
        objective=snakemake.rule,  # clo, or its baseline sft
        n=int(snakemake.wildcards.size),
        beta=c["beta"],
        nll_weight=c["nll_weight"],
        train_cfg=c["train"],
        max_len=c["max_len"],
        seed=p.seed,
        langs=tuple(p.langs),
        trust_remote_code=p.trust_remote_code,
    )

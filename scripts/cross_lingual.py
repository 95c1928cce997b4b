from langadapt.core import launch
from langadapt.train.clo import build_cross_lingual

p = snakemake.params
c = p.cfg
launch.job(
    snakemake,
    build_cross_lingual,
    model_dir=snakemake.input.model,
    translations=snakemake.input.data,
    out_dir=snakemake.output[0],
    objective=snakemake.rule,  # clo, or its baseline sft
    n=int(snakemake.wildcards.size),
    beta=c["beta"],
    nll_weight=c["nll_weight"],
    nll_on=c["nll_on"],
    train_cfg=c["train"],
    max_len=c["max_len"],
    seed=p.seed,
    langs=list(p.langs),
    trust_remote_code=p.trust_remote_code,
)

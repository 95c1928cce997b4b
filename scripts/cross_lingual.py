from langadapt import launch
from langadapt.common import stage

p = snakemake.params
c = p.cfg
with stage(snakemake.log[0], snakemake.threads, p.seed):
    launch.run(
        "langadapt.clo:build_cross_lingual",
        dict(
            model_dir=snakemake.input.model,
            translations=snakemake.input.data,
            out_dir=snakemake.output[0],
            objective=snakemake.rule,  # clo, or its baseline sft
            n=int(snakemake.wildcards.size),
            beta=c["beta"],
            nll_weight=c["nll_weight"],
            train_cfg=c["train"],
            max_len=c["max_len"],
            seed=p.seed,
            langs=list(p.langs),
            trust_remote_code=p.trust_remote_code,
        ),
        launch.processes(snakemake.resources),
        log_file=snakemake.log[0],
        threads=snakemake.threads,
        seed=p.seed,
    )

from langadapt import launch
from langadapt.common import stage

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    launch.run(
        "langadapt.tune:lora_finetune",
        dict(
            model_dir=snakemake.input.model,
            data_jsonl=snakemake.input.data,
            out_dir=snakemake.output[0],
            lora=p.lora,
            train_cfg=p.train,
            max_len=p.max_len,
            seed=p.seed,
            trust_remote_code=p.trust_remote_code,
        ),
        launch.processes(snakemake.resources),
        log_file=snakemake.log[0],
        threads=snakemake.threads,
        seed=p.seed,
    )

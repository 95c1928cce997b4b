from langadapt.common import stage
from langadapt.tune import lora_finetune

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    lora_finetune(
        snakemake.input.model,
        snakemake.input.data,
        snakemake.output[0],
        lora=p.lora,
        train_cfg=p.train,
        max_len=p.max_len,
        seed=p.seed,
        trust_remote_code=p.trust_remote_code,
    )

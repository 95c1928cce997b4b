from langadapt.core import launch
from langadapt.train.tune import lora_finetune

p = snakemake.params
launch.job(
    snakemake,
    lora_finetune,
    model_dir=snakemake.input.model,
    data_jsonl=snakemake.input.data,
    out_dir=snakemake.output[0],
    lora=p.lora,
    train_cfg=p.train,
    max_len=p.max_len,
    seed=p.seed,
    trust_remote_code=p.trust_remote_code,
)

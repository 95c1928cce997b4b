from langadapt.core import launch
from langadapt.train.pretrain import run_cpt

p = snakemake.params
launch.job(
    snakemake,
    run_cpt,
    init_dir=snakemake.input.init,
    token_shards=list(snakemake.input.tokens),
    source_shards=list(snakemake.input.source_tokens),
    heldout_file=snakemake.input.heldout,
    out_dir=snakemake.output[0],
    cfg=p.cfg,
    seed=p.seed,
    checkpoint_dir=p.checkpoints,
)

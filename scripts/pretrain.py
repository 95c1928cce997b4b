from langadapt import launch
from langadapt.common import stage

p = snakemake.params
with stage(snakemake.log[0], snakemake.threads, p.seed):
    launch.run(
        "langadapt.pretrain:run_cpt",
        dict(
            init_dir=snakemake.input.init,
            train_file=snakemake.input.train,
            heldout_file=snakemake.input.heldout,
            out_dir=snakemake.output[0],
            cfg=p.cfg,
            seed=p.seed,
            checkpoint_dir=p.checkpoints,
        ),
        launch.processes(snakemake.resources),
        log_file=snakemake.log[0],
        threads=snakemake.threads,
        seed=p.seed,
    )

rule pretrain:
    input:
        init=f"{R}/init/{{vocab}}/{{init}}",
        train=f"{R}/corpus/{TARGET}/train.txt",
        heldout=f"{R}/corpus/{TARGET}/heldout.txt",
        lib=library("pretrain.py"),
    output:
        directory(f"{R}/cpt/{{vocab}}/{{init}}"),
    log:
        f"{R}/logs/pretrain/{{vocab}}/{{init}}.log",
    benchmark:
        f"{R}/benchmarks/pretrain/{{vocab}}/{{init}}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        cpus_per_gpu=GPU["cpus_per_gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        processes=GPU["processes"],
    params:
        cfg=config["pretrain"],
        seed=config["seed"],
        # not an output: Snakemake would delete it before the job; removed when CPT finishes
        checkpoints=f"{R}/checkpoints/pretrain/{{vocab}}/{{init}}",
    script:
        "../scripts/pretrain.py"

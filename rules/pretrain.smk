rule pretrain:
    input:
        init=f"{R}/init/{{vocab}}/{{init}}",
        train=train_text(TARGET),
        heldout=f"{R}/corpus/{TARGET}/heldout.txt",
        lib=library("pretrain.py"),
    output:
        directory(f"{R}/cpt/{{vocab}}/{{init}}"),
    log:
        log_of("pretrain/{vocab}/{init}"),
    benchmark:
        benchmark_of("pretrain/{vocab}/{init}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("train"),
    params:
        cfg=config["pretrain"],
        seed=config["seed"],
        # not an output: Snakemake would delete it before the job; removed when CPT finishes
        checkpoints=f"{R}/checkpoints/pretrain/{{vocab}}/{{init}}",
    script:
        "../scripts/pretrain.py"

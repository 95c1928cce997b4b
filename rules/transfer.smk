rule transfer:
    input:
        unpack(transfer_inputs),
    output:
        directory(f"{R}/init/{{vocab}}/{{init}}"),
    log:
        f"{R}/logs/transfer/{{vocab}}/{{init}}.log",
    benchmark:
        f"{R}/benchmarks/transfer/{{vocab}}/{{init}}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: LIGHT_THREADS
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        cfg=lambda w: {**config["transfer"][w.init], "seed": config["seed"]},
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/transfer.py"

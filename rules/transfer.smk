rule transfer:
    input:
        unpack(transfer_inputs),
    output:
        directory(f"{R}/init/{{vocab}}/{{init}}"),
    log:
        log_of("transfer/{vocab}/{init}"),
    benchmark:
        benchmark_of("transfer/{vocab}/{init}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: LIGHT_THREADS
    resources:
        **resources_for("model"),
    params:
        cfg=lambda w: {**config["transfer"][w.init], "seed": config["seed"]},
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/transfer.py"

rule transfer:
    input:
        base=f"{R}/models/source/base",
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        overlap=f"{R}/overlap/{{vocab}}.json",
        lib=lib("models", "overlap", "transfer/__init__")
        + [
            str(Path(workflow.basedir) / "langadapt" / "transfer" / f"{m}.py")
            for m in INITS
        ],
    output:
        directory(f"{R}/init/{{vocab}}/{{init}}"),
    log:
        f"{R}/logs/transfer/{{vocab}}/{{init}}.log",
    benchmark:
        f"{R}/benchmarks/transfer/{{vocab}}/{{init}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/transfer.py"

rule lep:
    input:
        instruct=f"{R}/models/source/instruct",
        cpt=f"{R}/cpt/{{vocab}}/{{init}}",
        lib=lib("lep", "models", "transfer/__init__"),
    output:
        directory(f"{R}/lep/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/lep/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/lep/{{vocab}}/{{init}}/{{prop}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lep.py"

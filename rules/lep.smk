rule lep:
    input:
        instruct=f"{R}/models/source/instruct",
        base=f"{R}/models/source/base",
        cpt=f"{R}/cpt/{{vocab}}/{{init}}",
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        overlap=f"{R}/overlap/{{vocab}}.json",
        lib=library("lep.py"),
    output:
        directory(f"{R}/lep/{{vocab}}/{{init}}/{{prop}}"),
    log:
        f"{R}/logs/lep/{{vocab}}/{{init}}/{{prop}}.log",
    benchmark:
        f"{R}/benchmarks/lep/{{vocab}}/{{init}}/{{prop}}.tsv"
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: LIGHT_THREADS
    resources:
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lep.py"

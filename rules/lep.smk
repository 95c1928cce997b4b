rule lep:
    input:
        instruct=source_model("instruct"),
        base=source_model("base"),
        cpt=f"{R}/cpt/{{vocab}}/{{init}}",
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        overlap=f"{R}/overlap/{{vocab}}.json",
        lib=library("lep.py"),
    output:
        directory(f"{R}/lep/{{vocab}}/{{init}}/{{prop}}"),
    log:
        log_of("lep/{vocab}/{init}/{prop}"),
    benchmark:
        benchmark_of("lep/{vocab}/{init}/{prop}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: LIGHT_THREADS
    resources:
        **resources_for("model"),
    params:
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/lep.py"

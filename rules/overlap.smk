rule overlap:
    input:
        source=SOURCE_TOKENIZER,
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        lib=library("overlap.py"),
    output:
        f"{R}/overlap/{{vocab}}.json",
    log:
        log_of("overlap/{vocab}"),
    benchmark:
        benchmark_of("overlap/{vocab}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        **resources_for("light"),
    script:
        "../scripts/overlap.py"

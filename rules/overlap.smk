rule overlap:
    input:
        source=SOURCE_TOKENIZER,
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        lib=library("overlap.py"),
    output:
        f"{R}/overlap/{{vocab}}.json",
    log:
        f"{R}/logs/overlap/{{vocab}}.log",
    benchmark:
        f"{R}/benchmarks/overlap/{{vocab}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    script:
        "../scripts/overlap.py"

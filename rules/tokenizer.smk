rule tokenizer:
    input:
        unpack(tokenizer_inputs),
        target=f"{R}/corpus/{TARGET}/train.txt",
        source=f"{R}/corpus/{SOURCE}/train.txt",
        heldout=expand(f"{R}/corpus/{{lang}}/heldout.txt", lang=LANGS),
        source_tokenizer=SOURCE_TOKENIZER,
        lib=library("tokenizer.py"),
    output:
        directory(f"{R}/tokenizers/{{vocab}}"),
    log:
        f"{R}/logs/tokenizer/{{vocab}}.log",
    benchmark:
        f"{R}/benchmarks/tokenizer/{{vocab}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        variant=lambda w: config["tokenizer"]["variants"][w.vocab],
        source_share=config["tokenizer"]["source_share"],
        byte_fallback=config["tokenizer"]["byte_fallback"],
        character_coverage=config["tokenizer"]["character_coverage"],
        input_sentence_size=config["tokenizer"]["input_sentence_size"],
        langs=LANGS,
    script:
        "../scripts/tokenizer.py"

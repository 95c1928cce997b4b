rule tokenizer:
    input:
        unpack(tokenizer_inputs),
        target=train_text(TARGET),
        source=train_text(SOURCE),
        heldout=expand(f"{R}/corpus/{{lang}}/heldout.txt", lang=LANGS),
        source_tokenizer=SOURCE_TOKENIZER,
        lib=library("tokenizer.py"),
    output:
        directory(f"{R}/tokenizers/{{vocab}}"),
    log:
        log_of("tokenizer/{vocab}"),
    benchmark:
        benchmark_of("tokenizer/{vocab}")
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("light"),
    params:
        variant=lambda w: config["tokenizer"]["variants"][w.vocab],
        source_share=config["tokenizer"]["source_share"],
        byte_fallback=config["tokenizer"]["byte_fallback"],
        character_coverage=config["tokenizer"]["character_coverage"],
        input_sentence_size=config["tokenizer"]["input_sentence_size"],
        sample_bytes=config["tokenizer"]["sample_bytes"],
        langs=LANGS,
    script:
        "../scripts/tokenizer.py"

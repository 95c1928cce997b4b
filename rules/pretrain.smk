rule tokenize:
    input:
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        train=lambda w: train_text(w.lang),
        lib=library("tokenize.py"),
    output:
        directory(f"{R}/tokens/{{vocab}}/{{lang}}/part-{{shard}}"),
    log:
        log_of("tokenize/{vocab}/{lang}/{shard}"),
    benchmark:
        benchmark_of("tokenize/{vocab}/{lang}/{shard}")
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("light"),
    script:
        "../scripts/tokenize.py"


rule pretrain:
    input:
        init=f"{R}/init/{{vocab}}/{{init}}",
        tokens=lambda w: token_shards(w.vocab, TARGET),
        # LEP's CPT mixes in source-language text (pretrain.source_share)
        source_tokens=lambda w: (
            token_shards(w.vocab, SOURCE)
            if config["pretrain"].get("source_share")
            else []
        ),
        heldout=f"{R}/corpus/{TARGET}/heldout.txt",
        lib=library("pretrain.py"),
    output:
        directory(f"{R}/cpt/{{vocab}}/{{init}}"),
    log:
        log_of("pretrain/{vocab}/{init}"),
    benchmark:
        benchmark_of("pretrain/{vocab}/{init}")
    priority: CHAIN_PRIORITY
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("train"),
    params:
        cfg=config["pretrain"],
        seed=config["seed"],
        # not an output: Snakemake would delete it before the job; removed when CPT finishes
        checkpoints=f"{R}/checkpoints/pretrain/{{vocab}}/{{init}}",
    script:
        "../scripts/pretrain.py"

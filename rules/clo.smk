# Relation-aware translation of English instruction data, and cross-lingual optimization
# (CLO) against SFT on the same translated data, at each of clo.sizes.


rule fetch_translator:
    input:
        lib=library("fetch_translator.py"),
    output:
        directory(f"{R}/models/translator"),
    log:
        f"{R}/logs/fetch_translator.log",
    benchmark:
        f"{R}/benchmarks/fetch_translator.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        hub_id=TRANSLATE["model"],
        seq2seq=TRANSLATE["backend"] == "hf_seq2seq",
        revision=TRANSLATE["revision"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/fetch_translator.py"


rule translate:
    input:
        unpack(translator_inputs),
        docs=f"{R}/corpus/{SOURCE}/train.txt",
        parallel=(
            f"{R}/corpus/parallel/heldout.jsonl"
            if config["corpus"]["parallel"]["enabled"]
            else []
        ),
        lib=library("translate.py"),
    output:
        data=f"{R}/translate/instructions.jsonl",
        stats=f"{R}/translate/stats.json",
    log:
        f"{R}/logs/translate.log",
    benchmark:
        f"{R}/benchmarks/translate.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"] if TRANSLATE["backend"] != "dictionary" else 0,
        cpus_per_gpu=GPU["cpus_per_gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
    params:
        cfg=TRANSLATE,
        examples=max(CLO["sizes"]),
        langs=[SOURCE, TARGET],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/translate.py"


rule clo:
    input:
        model=f"{R}/models/source/instruct",
        data=f"{R}/translate/instructions.jsonl",
        lib=library("cross_lingual.py"),
    output:
        directory(f"{R}/clo/{{size}}"),
    log:
        f"{R}/logs/clo/{{size}}.log",
    benchmark:
        f"{R}/benchmarks/clo/{{size}}.tsv"
    wildcard_constraints:
        size=r"\d+",
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        gpu=GPU["gpu"],
        cpus_per_gpu=GPU["cpus_per_gpu"],
        mem_mb=GPU["mem_mb"],
        runtime=GPU["runtime"],
        processes=GPU["processes"],
    params:
        cfg=CLO,
        langs=[SOURCE, TARGET],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/cross_lingual.py"


# The baseline: the same translated data, plain likelihood on the target-language conversation.
use rule clo as sft with:
    output:
        directory(f"{R}/sft/{{size}}"),
    log:
        f"{R}/logs/sft/{{size}}.log",
    benchmark:
        f"{R}/benchmarks/sft/{{size}}.tsv"

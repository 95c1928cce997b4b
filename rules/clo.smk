# Relation-aware translation of source-language instruction data, and cross-lingual optimization
# (CLO) against SFT on the same translated data, at each of clo.sizes.


if TRANSLATE["model"] == "train":

    # a contextual translator trained offline on the parallel corpus (langadapt/translate/trained.py)
    rule train_translator:
        input:
            pairs=f"{R}/corpus/parallel/train.jsonl",
            lib=library("train_translator.py"),
        output:
            directory(f"{R}/models/translator"),
        log:
            log_of("train_translator"),
        benchmark:
            benchmark_of("train_translator")
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            **resources_for("train"),
        params:
            cfg=TRANSLATE["trained"],
            relation=TRANSLATE["relation"],
            langs=[PROFILES[SOURCE], PROFILES[TARGET]],
            seed=config["seed"],
        script:
            "../scripts/train_translator.py"

else:

    rule fetch_translator:
        input:
            lib=library("fetch_translator.py"),
        output:
            directory(f"{R}/models/translator"),
        log:
            log_of("fetch_translator"),
        benchmark:
            benchmark_of("fetch_translator")
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            **resources_for("light"),
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
        docs=sample_text(SOURCE),
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
        log_of("translate"),
    benchmark:
        benchmark_of("translate")
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        # a model translates on a GPU; the dictionary needs none
        **resources_for("gpu", gpu=None if TRANSLATE["backend"] != "dictionary" else 0),
    params:
        # the translator's own training settings are the train_translator job's
        cfg={k: v for k, v in TRANSLATE.items() if k != "trained"},
        examples=max(CLO["sizes"]),
        langs=[PROFILES[SOURCE], PROFILES[TARGET]],
        seed=config["seed"],
        trust_remote_code=config["models"]["trust_remote_code"],
    script:
        "../scripts/translate.py"


rule clo:
    input:
        model=source_model("instruct"),
        data=f"{R}/translate/instructions.jsonl",
        lib=library("cross_lingual.py"),
    output:
        directory(f"{R}/clo/{{size}}"),
    log:
        log_of("clo/{size}"),
    benchmark:
        benchmark_of("clo/{size}")
    wildcard_constraints:
        size=r"\d+",
    conda:
        "../envs/langadapt.yaml"
    threads: TRAIN_THREADS
    resources:
        **resources_for("train"),
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
        log_of("sft/{size}"),
    benchmark:
        benchmark_of("sft/{size}")

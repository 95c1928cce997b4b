# What some initializations need beyond the source model: static token vectors (focus,
# wechsel) and a target-language PLM (let, salt).
WECHSEL = config["transfer"]["wechsel"]


rule focus_vectors:
    input:
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        train=sample_text(TARGET),
        lib=library("focus_vectors.py"),
    output:
        npz=f"{R}/aux/focus/{{vocab}}.npz",
        stats=f"{R}/aux/focus/{{vocab}}.json",
    log:
        log_of("focus_vectors/{vocab}"),
    benchmark:
        benchmark_of("focus_vectors/{vocab}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1  # fastText on one worker: reproducible
    resources:
        **resources_for("light"),
    params:
        cfg=config["transfer"]["focus"],
        seed=config["seed"],
    script:
        "../scripts/focus_vectors.py"


rule wechsel_vectors:
    input:
        **dictionary_input(WECHSEL),
        # no dictionary for the pair: word pairs induced from the aligned corpus
        source_tokenizer=SOURCE_TOKENIZER,
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        source_text=(
            f"{R}/corpus/parallel/train.jsonl"
            if WECHSEL["corpus"] == "parallel"
            else sample_text(SOURCE)
        ),
        target_text=(
            f"{R}/corpus/parallel/train.jsonl"
            if WECHSEL["corpus"] == "parallel"
            else sample_text(TARGET)
        ),
        parallel=(
            [] if dictionary_input(WECHSEL) else f"{R}/corpus/parallel/train.jsonl"
        ),
        lib=library("wechsel_vectors.py"),
    output:
        npz=f"{R}/aux/wechsel/{{vocab}}.npz",
        stats=f"{R}/aux/wechsel/{{vocab}}.json",
    log:
        log_of("wechsel_vectors/{vocab}"),
    benchmark:
        benchmark_of("wechsel_vectors/{vocab}")
    conda:
        "../envs/langadapt.yaml"
    threads: 1  # fastText on one worker: reproducible
    resources:
        **resources_for("light"),
    params:
        cfg=WECHSEL,
        langs=[PROFILES[SOURCE], PROFILES[TARGET]],
        seed=config["seed"],
    script:
        "../scripts/wechsel_vectors.py"


if PLM["kind"] == "bootstrap":

    rule bootstrap_plm:
        input:
            tokenizer=f"{R}/tokenizers/{PLM['vocab']}",
            train=sample_text(TARGET),
            lib=library("bootstrap_plm.py"),
        output:
            directory(f"{R}/models/plm"),
        log:
            log_of("bootstrap_plm"),
        benchmark:
            benchmark_of("bootstrap_plm")
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            **resources_for("gpu"),
        params:
            arch={
                k: PLM[k]
                for k in (
                    "hidden_size",
                    "layers",
                    "heads",
                    "intermediate_size",
                    "max_len",
                )
            },
            train=PLM["train"],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_plm.py"

else:

    rule fetch_plm:
        input:
            lib=library("fetch_model.py"),
        output:
            directory(f"{R}/models/plm"),
        log:
            log_of("fetch_model/plm"),
        benchmark:
            benchmark_of("fetch_model/plm")
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            **resources_for("model"),
        params:
            hub_id=PLM["hub_id"],
            revision=PLM["revision"],
            trust_remote_code=config["models"]["trust_remote_code"],
        script:
            "../scripts/fetch_model.py"

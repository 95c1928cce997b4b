BOOT = config["models"]["bootstrap"]
ARCH = {
    k: BOOT[k]
    for k in (
        "hidden_size",
        "layers",
        "heads",
        "intermediate_size",
        "max_len",
        "tie_word_embeddings",
    )
}


KIND = config["models"]["kind"]
REHEARSAL = config["models"]["rehearsal"]


if KIND == "bootstrap":

    rule bootstrap_tokenizer:
        input:
            source=sample_text(SOURCE),
            target=sample_text(TARGET),
            lib=library("bootstrap_tokenizer.py"),
        output:
            directory(f"{R}/models/source/tokenizer"),
        log:
            log_of("bootstrap_tokenizer"),
        benchmark:
            benchmark_of("bootstrap_tokenizer")
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            **resources_for("light"),
        params:
            vocab_size=BOOT["vocab_size"],
            source_bytes=BOOT["source_bytes"],
            target_bytes=BOOT["target_bytes"],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_tokenizer.py"

elif KIND == "rehearsal":

    rule family_tokenizer:
        input:
            lib=library("family_tokenizer.py"),
        output:
            directory(f"{R}/models/source/tokenizer"),
        log:
            log_of("family_tokenizer"),
        benchmark:
            benchmark_of("family_tokenizer")
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            **resources_for("light"),
        params:
            family=REHEARSAL["family"],
            source=REHEARSAL["source"],
            revision=REHEARSAL["revision"],
        script:
            "../scripts/family_tokenizer.py"


if KIND in ("bootstrap", "rehearsal"):

    rule bootstrap_base:
        input:
            tokenizer=f"{R}/models/source/tokenizer",
            source=sample_text(SOURCE),
            target=sample_text(TARGET),
            lib=library("bootstrap_base.py"),
        output:
            directory(source_model("base")),
        log:
            log_of("bootstrap_base"),
        benchmark:
            benchmark_of("bootstrap_base")
        priority: CHAIN_PRIORITY
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            **resources_for("gpu"),
        params:
            arch=ARCH,
            train=BOOT["base"],
            source_bytes=BOOT["source_bytes"],
            target_bytes=BOOT["target_bytes"],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_base.py"

    rule bootstrap_instruct:
        input:
            base=source_model("base"),
            source=sample_text(SOURCE),
            lib=library("bootstrap_instruct.py"),
        output:
            directory(source_model("instruct")),
        log:
            log_of("bootstrap_instruct"),
        benchmark:
            benchmark_of("bootstrap_instruct")
        priority: CHAIN_PRIORITY
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            **resources_for("gpu"),
        params:
            n_examples=BOOT["instruct_examples"],
            max_len=BOOT["instruct_max_len"],
            train=BOOT["instruct"],
            family=REHEARSAL["family"] if KIND == "rehearsal" else None,
            lang=PROFILES[SOURCE],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_instruct.py"

else:

    rule fetch_model:
        input:
            lib=library("fetch_model.py"),
        output:
            directory(f"{R}/models/source/{{role}}"),
        log:
            log_of("fetch_model/{role}"),
        benchmark:
            benchmark_of("fetch_model/{role}")
        wildcard_constraints:
            role="base|instruct",
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            **resources_for("model"),
        params:
            hub_id=lambda w: config["models"]["hf"][w.role],
            revision=config["models"]["hf"]["revision"],
            trust_remote_code=config["models"]["trust_remote_code"],
        script:
            "../scripts/fetch_model.py"

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


if config["models"]["kind"] == "bootstrap":

    rule bootstrap_tokenizer:
        input:
            en=f"{R}/corpus/{SOURCE}/train.txt",
            ru=f"{R}/corpus/{TARGET}/train.txt",
            lib=library("bootstrap_tokenizer.py"),
        output:
            directory(f"{R}/models/source/tokenizer"),
        log:
            f"{R}/logs/bootstrap_tokenizer.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_tokenizer.tsv"
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            mem_mb=LIGHT["mem_mb"],
            runtime=LIGHT["runtime"],
        params:
            vocab_size=BOOT["vocab_size"],
            en_bytes=BOOT["en_bytes"],
            ru_bytes=BOOT["ru_bytes"],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_tokenizer.py"

    rule bootstrap_base:
        input:
            tokenizer=f"{R}/models/source/tokenizer",
            en=f"{R}/corpus/{SOURCE}/train.txt",
            ru=f"{R}/corpus/{TARGET}/train.txt",
            lib=library("bootstrap_base.py"),
        output:
            directory(f"{R}/models/source/base"),
        log:
            f"{R}/logs/bootstrap_base.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_base.tsv"
        priority: CHAIN_PRIORITY
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            gpu=GPU["gpu"],
            cpus_per_gpu=GPU["cpus_per_gpu"],
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        params:
            arch=ARCH,
            train=BOOT["base"],
            en_bytes=BOOT["en_bytes"],
            ru_bytes=BOOT["ru_bytes"],
            seed=config["seed"],
        script:
            "../scripts/bootstrap_base.py"

    rule bootstrap_instruct:
        input:
            base=f"{R}/models/source/base",
            en=f"{R}/corpus/{SOURCE}/train.txt",
            lib=library("bootstrap_instruct.py"),
        output:
            directory(f"{R}/models/source/instruct"),
        log:
            f"{R}/logs/bootstrap_instruct.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_instruct.tsv"
        priority: CHAIN_PRIORITY
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            gpu=GPU["gpu"],
            cpus_per_gpu=GPU["cpus_per_gpu"],
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        params:
            n_examples=BOOT["instruct_examples"],
            max_len=BOOT["instruct_max_len"],
            train=BOOT["instruct"],
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
            f"{R}/logs/fetch_model/{{role}}.log",
        benchmark:
            f"{R}/benchmarks/fetch_model/{{role}}.tsv"
        wildcard_constraints:
            role="base|instruct",
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        params:
            hub_id=lambda w: config["models"]["hf"][w.role],
            revision=config["models"]["hf"]["revision"],
            trust_remote_code=config["models"]["trust_remote_code"],
        script:
            "../scripts/fetch_model.py"

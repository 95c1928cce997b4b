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
            lib=lib("bootstrap"),
        output:
            directory(f"{R}/models/source/tokenizer"),
        params:
            vocab_size=BOOT["vocab_size"],
            en_bytes=BOOT["en_bytes"],
            ru_bytes=BOOT["ru_bytes"],
            seed=config["seed"],
        log:
            f"{R}/logs/bootstrap_tokenizer.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_tokenizer.tsv"
        threads: TRAIN_THREADS
        resources:
            mem_mb=LIGHT["mem_mb"],
            runtime=LIGHT["runtime"],
        script:
            "../scripts/bootstrap_tokenizer.py"

    rule bootstrap_base:
        input:
            tokenizer=f"{R}/models/source/tokenizer",
            en=f"{R}/corpus/{SOURCE}/train.txt",
            ru=f"{R}/corpus/{TARGET}/train.txt",
            lib=lib("bootstrap", "train", "models"),
        output:
            directory(f"{R}/models/source/base"),
        params:
            arch=ARCH,
            train=BOOT["base"],
            en_bytes=BOOT["en_bytes"],
            ru_bytes=BOOT["ru_bytes"],
            seed=config["seed"],
        log:
            f"{R}/logs/bootstrap_base.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_base.tsv"
        threads: TRAIN_THREADS
        resources:
            gpu=GPU["gpu"],
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        script:
            "../scripts/bootstrap_base.py"

    rule bootstrap_instruct:
        input:
            base=f"{R}/models/source/base",
            en=f"{R}/corpus/{SOURCE}/train.txt",
            lib=lib("bootstrap", "train", "models"),
        output:
            directory(f"{R}/models/source/instruct"),
        params:
            n_examples=BOOT["instruct_examples"],
            max_len=BOOT["instruct_max_len"],
            train=BOOT["instruct"],
            seed=config["seed"],
        log:
            f"{R}/logs/bootstrap_instruct.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_instruct.tsv"
        threads: TRAIN_THREADS
        resources:
            gpu=GPU["gpu"],
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        script:
            "../scripts/bootstrap_instruct.py"

else:

    rule fetch_model:
        input:
            lib=lib("models"),
        output:
            directory(f"{R}/models/source/{{role}}"),
        wildcard_constraints:
            role="base|instruct",
        params:
            hub_id=lambda w: config["models"]["hf"][w.role],
            revision=config["models"]["hf"]["revision"],
            trust_remote_code=config["models"]["trust_remote_code"],
        log:
            f"{R}/logs/fetch_model/{{role}}.log",
        benchmark:
            f"{R}/benchmarks/fetch_model/{{role}}.tsv"
        threads: 1
        resources:
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        script:
            "../scripts/fetch_model.py"

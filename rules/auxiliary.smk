# What some initializations need beyond the source model: static token vectors (focus,
# wechsel) and a target-language PLM (let, salt).
WECHSEL = config["transfer"]["wechsel"]


rule focus_vectors:
    input:
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        train=f"{R}/corpus/{TARGET}/train.txt",
        lib=library("focus_vectors.py"),
    output:
        npz=f"{R}/aux/focus/{{vocab}}.npz",
        stats=f"{R}/aux/focus/{{vocab}}.json",
    log:
        f"{R}/logs/focus_vectors/{{vocab}}.log",
    benchmark:
        f"{R}/benchmarks/focus_vectors/{{vocab}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1  # fastText on one worker: reproducible
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=config["transfer"]["focus"],
        seed=config["seed"],
    script:
        "../scripts/focus_vectors.py"


rule wechsel_vectors:
    input:
        source_tokenizer=SOURCE_TOKENIZER,
        tokenizer=f"{R}/tokenizers/{{vocab}}",
        source_text=(
            f"{R}/corpus/parallel/train.jsonl"
            if WECHSEL["corpus"] == "parallel"
            else f"{R}/corpus/{SOURCE}/train.txt"
        ),
        target_text=(
            f"{R}/corpus/parallel/train.jsonl"
            if WECHSEL["corpus"] == "parallel"
            else f"{R}/corpus/{TARGET}/train.txt"
        ),
        dictionary=WECHSEL["dictionary_path"]
        or f"{R}/corpus/debs/{WECHSEL['dictionary_package']}",
        lib=library("wechsel_vectors.py"),
    output:
        npz=f"{R}/aux/wechsel/{{vocab}}.npz",
        stats=f"{R}/aux/wechsel/{{vocab}}.json",
    log:
        f"{R}/logs/wechsel_vectors/{{vocab}}.log",
    benchmark:
        f"{R}/benchmarks/wechsel_vectors/{{vocab}}.tsv"
    conda:
        "../envs/langadapt.yaml"
    threads: 1  # fastText on one worker: reproducible
    resources:
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=WECHSEL,
        langs=[SOURCE, TARGET],
        seed=config["seed"],
    script:
        "../scripts/wechsel_vectors.py"


if PLM["kind"] == "bootstrap":

    rule bootstrap_plm:
        input:
            tokenizer=f"{R}/tokenizers/{PLM['vocab']}",
            train=f"{R}/corpus/{TARGET}/train.txt",
            lib=library("bootstrap_plm.py"),
        output:
            directory(f"{R}/models/plm"),
        log:
            f"{R}/logs/bootstrap_plm.log",
        benchmark:
            f"{R}/benchmarks/bootstrap_plm.tsv"
        conda:
            "../envs/langadapt.yaml"
        threads: TRAIN_THREADS
        resources:
            gpu=GPU["gpu"],
            cpus_per_gpu=GPU["cpus_per_gpu"],
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
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
            f"{R}/logs/fetch_model/plm.log",
        benchmark:
            f"{R}/benchmarks/fetch_model/plm.tsv"
        conda:
            "../envs/langadapt.yaml"
        threads: 1
        resources:
            mem_mb=GPU["mem_mb"],
            runtime=GPU["runtime"],
        params:
            hub_id=PLM["hub_id"],
            revision=PLM["revision"],
            trust_remote_code=config["models"]["trust_remote_code"],
        script:
            "../scripts/fetch_model.py"
